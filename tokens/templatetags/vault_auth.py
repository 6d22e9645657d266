"""Template tags for the sign-in pages: what a re-authentication is for."""

from __future__ import annotations

from typing import Any

from django import template

from tokens.pages.auth import reauthentication_purpose

register = template.Library()


@register.simple_tag(takes_context=True)
def reauthentication_for(context: Any) -> dict[str, str] | None:
    request = context.get("request")
    return None if request is None else reauthentication_purpose(request)
