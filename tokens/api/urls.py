from __future__ import annotations

from django.urls import path, re_path

from tokens.api import views

urlpatterns = [
    path("tokens", views.tokens, name="api-tokens"),
    path("tokens/search", views.search, name="api-search"),
    path("tokens/<str:token_id>", views.token, name="api-token"),
    path("detokenize", views.detokenize, name="api-detokenize"),
    path("openapi.json", views.openapi, name="api-openapi"),
    path("docs", views.docs, name="api-docs"),
    re_path(r"^(?P<rest>.*)$", views.not_found),
]
