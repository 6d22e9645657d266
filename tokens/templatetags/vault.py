from __future__ import annotations

from datetime import UTC, datetime

from django import template

register = template.Library()


@register.filter
def utc(seconds: object) -> str:
    """Unix seconds as 'YYYY-MM-DD HH:MM UTC'."""
    try:
        return datetime.fromtimestamp(int(str(seconds)), tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (TypeError, ValueError, OverflowError, OSError):
        return ""


@register.filter
def when(iso: object) -> str:
    """An audit record's ISO time, to the second."""
    return str(iso)[:19].replace("T", " ")
