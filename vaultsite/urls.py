"""URLs, by function role (settings.VAULT_FUNCTION_ROLE).

A writer function serves tokenize, a reader serves detokenize and metadata,
the operator function serves everything (the whole API, operator pages and the
admin), and `all` (local development) serves everything too. Change of expiry
and delete (PATCH and DELETE on a token) need read, write and both KMS
operations, so only operator and all serve them. The vault functions refuse
operations outside the role as well; routing keeps other URLs from existing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib import import_module
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.decorators.csrf import csrf_exempt

from tokens.api import health
from tokens.api.responses import method_not_allowed

Patterns = list[URLPattern | URLResolver]


def only(view: Callable[..., HttpResponse], *methods: str) -> Callable[..., HttpResponse]:
    """`view` limited to `methods`; others get the API's 405."""

    def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in methods:
            return method_not_allowed(methods)
        return view(request, *args, **kwargs)

    return csrf_exempt(limited)


def api_view(name: str) -> Callable[..., HttpResponse]:
    """tokens.api.views.<name>, imported on its first request.

    Only for API views: they authenticate by key and are all CSRF-exempt,
    which this stand-in must declare before the view is loaded.
    """
    loaded: list[Callable[..., HttpResponse]] = []

    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not loaded:
            target = getattr(import_module("tokens.api.views"), name)
            if not getattr(target, "csrf_exempt", False):
                raise ImproperlyConfigured(f"tokens.api.views.{name} is not an API view")
            loaded.append(target)
        return loaded[0](request, *args, **kwargs)

    view.__name__ = view.__qualname__ = name
    return csrf_exempt(view)


def _closed(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def health_urls() -> Patterns:
    return [
        path("healthz", health.healthz, name="healthz"),
        path("readyz", health.readyz, name="readyz"),
    ]


def api_not_found() -> Patterns:
    """Any other path under /api (/api and /api/v1 themselves too): the API's JSON 404,
    for every method, so no CSRF page, no HTML 404 and no slash-appending redirect."""
    return [re_path(r"^api(?:/(?P<rest>.*))?$", api_view("not_found"))]


def writer() -> Patterns:
    return [
        path("api/v1/tokens", api_view("tokens"), name="api-tokens"),
        path("api/v1/tokens/batch", api_view("tokens_batch"), name="api-tokens-batch"),
    ]


def reader() -> Patterns:
    return [
        path("api/v1/detokenize", api_view("detokenize"), name="api-detokenize"),
        path("api/v1/detokenize/batch", api_view("detokenize_batch"), name="api-detokenize-batch"),
        path("api/v1/tokens/<str:token_id>", only(api_view("token"), "GET"), name="api-token"),
    ]


@functools.cache
def _admin_site() -> Any:
    from allauth.account.decorators import secure_admin_login
    from django.contrib import admin

    # The admin signs in through allauth (password + MFA), never its own form.
    admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
    # Its own password form skips the audit record and our checks: every password
    # change goes through allauth's page (audited, re-authenticated).
    admin.site.password_change = _change_password_in_one_place  # type: ignore[method-assign,assignment]
    admin.site.password_change_done = _change_password_in_one_place  # type: ignore[method-assign,assignment]
    admin.site.site_header = "Token vault administration"
    return admin.site


def _change_password_in_one_place(request: HttpRequest, extra_context: Any = None) -> HttpResponse:
    return redirect("account_change_password")


def operator() -> Patterns:
    """Served by the operator function (and `all`) only. Operator pages go here."""
    from allauth.mfa.recovery_codes import views as recovery_views
    from allauth.mfa.totp import views as totp_views

    from tokens.pages.auth import SignInLinkView, fresh_code_required

    return [
        path("api/v1/", include("tokens.api.urls")),
        *api_not_found(),
        path("admin/", _admin_site().urls),
        path("monitoring/", include("monitoring.urls")),
        # Operators are created by vault admins and recover through them: no sign-up,
        # no self-service email or password reset.
        path("accounts/signup/", _closed),
        path("accounts/email/", _closed),
        path("accounts/password/reset/", _closed),
        path("accounts/password/reset/<path:rest>", _closed),
        # An operator's sign-in link: they choose their own password.
        path("accounts/welcome/<uidb64>/<token>/", SignInLinkView.as_view(), name="signin-link"),
        # Removing or replacing an authenticator needs a code typed for it.
        path("accounts/2fa/totp/deactivate/", fresh_code_required(totp_views.deactivate_totp)),
        path(
            "accounts/2fa/recovery-codes/generate/",
            fresh_code_required(recovery_views.generate_recovery_codes),
        ),
        path("accounts/", include("allauth.urls")),
        path("", include("tokens.pages.urls")),
    ]


def urls_for(role: str) -> Patterns:
    if role == "writer":
        return health_urls() + writer() + api_not_found()
    if role == "reader":
        return health_urls() + reader() + api_not_found()
    return health_urls() + operator()


urlpatterns = urls_for(settings.VAULT_FUNCTION_ROLE)

handler400 = "vaultsite.errors.bad_request"
handler403 = "vaultsite.errors.permission_denied"
handler404 = "vaultsite.errors.page_not_found"
handler500 = "vaultsite.errors.server_error"
