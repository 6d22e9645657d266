"""Route a test as one function role: settings.ROOT_URLCONF = RoleUrls("reader")."""

from __future__ import annotations

import vaultsite.urls
from vaultsite.urls import urls_for


class RoleUrls:
    def __init__(self, role: str) -> None:
        self.role = role
        self.urlpatterns = urls_for(role)
        for name in ("handler400", "handler403", "handler404", "handler500"):
            setattr(self, name, getattr(vaultsite.urls, name))

    def __repr__(self) -> str:
        return f"RoleUrls({self.role!r})"
