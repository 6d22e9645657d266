from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from tokens.models import ApiClient


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "scopes", "active", "created", "last_used")
    readonly_fields = ("prefix", "created", "last_used")
    exclude = ("key_hash",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Keys are issued from the API clients page or `createapiclient`, where they are shown once.
        return False
