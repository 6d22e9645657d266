"""URLs, by function role (settings.VAULT_FUNCTION_ROLE).

A writer function serves tokenize, a reader serves detokenize and metadata,
the operator function serves everything (the whole API, operator pages and the
admin), and `all` (local development) serves everything too. Change of expiry
and delete (PATCH and DELETE on a token) need read, write and both KMS
operations, so only operator and all serve them. The vault functions refuse
operations outside the role as well; routing keeps other URLs from existing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.decorators.csrf import csrf_exempt

from tokens.api import views as api_views
from tokens.api.responses import method_not_allowed

Patterns = list[URLPattern | URLResolver]


def only(view: Callable[..., HttpResponse], *methods: str) -> Callable[..., HttpResponse]:
    """`view` limited to `methods`; others get the API's 405."""

    def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in methods:
            return method_not_allowed(methods)
        return view(request, *args, **kwargs)

    return csrf_exempt(limited)


def _closed(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


# The admin signs in through allauth (password + MFA), never its own form.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "Token vault administration"

health: Patterns = [
    path("healthz", api_views.healthz, name="healthz"),
    path("readyz", api_views.readyz, name="readyz"),
]
# Any other API path: the API's JSON 404, for every method (so no CSRF page).
api_not_found: Patterns = [re_path(r"^api/v1/(?P<rest>.*)$", api_views.not_found)]

writer: Patterns = [
    path("api/v1/tokens", api_views.tokens, name="api-tokens"),
    path("api/v1/tokens/batch", api_views.tokens_batch, name="api-tokens-batch"),
]

reader: Patterns = [
    path("api/v1/detokenize", api_views.detokenize, name="api-detokenize"),
    path("api/v1/detokenize/batch", api_views.detokenize_batch, name="api-detokenize-batch"),
    path("api/v1/tokens/<str:token_id>", only(api_views.token, "GET"), name="api-token"),
]

# Served by the operator function (and `all`) only. Operator pages go here.
operator: Patterns = [
    path("api/v1/", include("tokens.api.urls")),
    path("admin/", admin.site.urls),
    path("monitoring/", include("monitoring.urls")),
    # Operators are created by vault admins and recover through them: no sign-up,
    # no self-service email or password reset.
    path("accounts/signup/", _closed),
    path("accounts/email/", _closed),
    path("accounts/password/reset/", _closed),
    path("accounts/password/reset/<path:rest>", _closed),
    path("accounts/", include("allauth.urls")),
    path("", include("tokens.pages.urls")),
]


def urls_for(role: str) -> Patterns:
    if role == "writer":
        return health + writer + api_not_found
    if role == "reader":
        return health + reader + api_not_found
    return health + operator


urlpatterns = urls_for(settings.VAULT_FUNCTION_ROLE)

handler400 = "vaultsite.errors.bad_request"
handler403 = "vaultsite.errors.permission_denied"
handler404 = "vaultsite.errors.page_not_found"
handler500 = "vaultsite.errors.server_error"
