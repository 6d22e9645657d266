"""Sign-in backend: allauth's, refusing superuser accounts.

Django lets a superuser pass every permission check, which would let one
account reveal, grant and audit at once. Operators hold roles instead.
"""

from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend


class OperatorBackend(AuthenticationBackend):
    def user_can_authenticate(self, user: Any) -> bool:
        return bool(super().user_can_authenticate(user) and not user.is_superuser)
