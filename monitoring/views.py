"""The monitoring page (role auditor: permission tokens.view_audit)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from monitoring import page


@require_GET
@never_cache
@login_required
@permission_required("tokens.view_audit", raise_exception=True)
def index(request: HttpRequest) -> HttpResponse:
    context = page.context(request.GET.get("region"), request.GET.get("range"))
    return render(request, "monitoring/index.html", context)
