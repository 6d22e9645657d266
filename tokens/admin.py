"""The Django admin, read-only for what matters: API clients, people and roles
change only through tokens.admin_ops (the pages and commands), which audit
every change and refuse self-grants. The admin signs in through allauth."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.http import HttpRequest

from tokens.models import ApiClient


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


class RoleAdmin(ReadOnly, GroupAdmin):
    pass


admin.site.unregister(get_user_model())
admin.site.unregister(Group)
admin.site.register(get_user_model(), OperatorAdmin)
admin.site.register(Group, RoleAdmin)
