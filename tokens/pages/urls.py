from __future__ import annotations

from django.urls import path

from tokens.pages import admin_pages, audit_pages, dashboard, list_pages, vault_pages

app_name = "pages"
# Token ids travel in POST bodies, never in these paths.
urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("tokenize", vault_pages.tokenize, name="tokenize"),
    path("lookup", vault_pages.lookup, name="lookup"),
    path("reveal", vault_pages.reveal, name="reveal"),
    path("expiry", vault_pages.expiry, name="expiry"),
    path("audit", audit_pages.audit_log, name="audit"),
    path("audit/export.csv", audit_pages.audit_export, name="audit-export"),
    path("audit/verify", audit_pages.audit_verify, name="audit-verify"),
    path("operators", admin_pages.operators, name="operators"),
    path("clients", admin_pages.clients, name="clients"),
    path("tokens", list_pages.token_list, name="tokens"),
]
