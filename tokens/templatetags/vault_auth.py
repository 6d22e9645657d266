"""Template tags for signing in: what a re-authentication is for, and the idle sign-out."""

from __future__ import annotations

import time
from typing import Any

from django import template
from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from tokens.pages.auth import reauthentication_purpose

register = template.Library()


@register.simple_tag(takes_context=True)
def reauthentication_for(context: Any) -> dict[str, str] | None:
    request = context.get("request")
    return None if request is None else reauthentication_purpose(request)


@register.simple_tag(takes_context=True)
def idle_timer(context: Any) -> str:
    """Attributes for <body> from which vault.js warns before the idle sign-out:
    the idle limit, the server's clock (the browser's may be off) and a page to
    fetch to stay signed in."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ""
    try:
        ping = reverse("mfa_index")
    except NoReverseMatch:  # writer and reader functions route no pages
        return ""
    return format_html(
        ' data-idle-seconds="{}" data-server-time="{}" data-idle-ping="{}"',
        settings.SESSION_COOKIE_AGE,
        int(time.time()),
        ping,
    )
