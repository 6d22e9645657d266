from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from tokens.api import views as api_views

urlpatterns = [
    path("healthz", api_views.healthz, name="healthz"),
    path("readyz", api_views.readyz, name="readyz"),
    path("api/v1/", include("tokens.api.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "vaultsite.errors.bad_request"
handler403 = "vaultsite.errors.permission_denied"
handler404 = "vaultsite.errors.page_not_found"
handler500 = "vaultsite.errors.server_error"
