"""The monitoring page (role auditor: permission tokens.view_audit)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from monitoring import callers, page
from tokens.pages.common import has, operator_page


@never_cache
@operator_page(has("tokens.view_audit"), methods=("GET",))
def index(request: HttpRequest) -> HttpResponse:
    context = page.context(request.GET.get("region"), request.GET.get("range"))
    context |= callers.page_context(context["region"], context["range"], request.GET.get("caller"))
    return render(request, "monitoring/index.html", context)
