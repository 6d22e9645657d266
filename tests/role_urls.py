"""Route a test as one function role: settings.ROOT_URLCONF = RoleUrls("reader")."""

from __future__ import annotations

from vaultsite.urls import urls_for


class RoleUrls:
    def __init__(self, role: str) -> None:
        self.role = role
        self.urlpatterns = urls_for(role)

    def __repr__(self) -> str:
        return f"RoleUrls({self.role!r})"
