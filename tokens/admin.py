from __future__ import annotations

from django.contrib import admin

from tokens.models import ApiClient


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ("name", "scopes", "active", "created", "last_used")
    readonly_fields = ("prefix", "created", "last_used")
    exclude = ("key_hash",)

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        # Keys are issued from the API clients page or `createapiclient`, where they are shown once.
        return False
