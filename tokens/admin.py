"""The Django admin, read-only for what matters: API clients, people and roles
change only through tokens.admin_ops (the pages and commands), which audit
every change and refuse self-grants. The admin signs in through allauth."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from tokens.models import ApiClient
from tokens.operators import holds


class ReadOnly(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ApiClient)
class ApiClientAdmin(ReadOnly):
    list_display = ("name", "scopes", "active", "created", "last_used")
    readonly_fields = ("prefix", "created", "last_used")
    exclude = ("key_hash",)


class OperatorAdmin(ReadOnly, UserAdmin):  # type: ignore[type-arg]
    list_display = ("username", "email", "is_active", "is_staff", "last_login")

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        """The change form's "Reset password" button: the vault's own reset, on
        the Operators page (a sign-in link emailed to the operator, a second
        vault admin when the rules want one), never a password typed here."""
        if not holds(request.user, "tokens.manage_operators"):
            raise PermissionDenied
        user = get_user_model().objects.filter(pk=int(id)).first() if str(id).isdigit() else None
        if user is None:
            return redirect("pages:operators")
        messages.info(
            request,
            f"Passwords are never set for someone else. To reset {user.get_username()}, use Reset in "
            "their row below: they are emailed a new sign-in link and choose their own password "
            "(a second vault admin approves when they hold detokenizer or vault_admin).",
        )
        return redirect(reverse("pages:operators") + f"#operator-{user.pk}")


class RoleAdmin(ReadOnly, GroupAdmin):
    pass


admin.site.unregister(get_user_model())
admin.site.unregister(Group)
admin.site.register(get_user_model(), OperatorAdmin)
admin.site.register(Group, RoleAdmin)
