"""Site-wide error handlers: the API's JSON shape under /api/, plain pages elsewhere."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views import defaults

from tokens.api.responses import error, no_such_endpoint
from tokens.pages.errors import forbidden


def _api(request: HttpRequest) -> bool:
    # path_info: on Lambda, `path` carries the API Gateway stage prefix.
    return request.path_info.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _api(request):
        return error(400, "bad_request", "The request could not be understood.")
    return defaults.bad_request(request, exception)


def invalid_request(request: HttpRequest, message: str) -> HttpResponse:
    """A 400 that says what was wrong with the request itself (before any view ran)."""
    if _api(request):
        return error(400, "invalid_request", message)
    return HttpResponseBadRequest(message)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _api(request):
        return error(403, "forbidden", "This caller may not do that.")
    return forbidden(request, exception)  # the operator pages' 403, audited


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _api(request):
        return no_such_endpoint()
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _api(request):
        return error(500, "error", "The vault could not complete the request.")
    return defaults.server_error(request)
