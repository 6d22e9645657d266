from __future__ import annotations

from datetime import UTC, date, datetime

from django import template

from tokens import audit_words

register = template.Library()

# The one way operator pages write a moment: "2026-11-29 09:45 UTC".
FORMAT = "%Y-%m-%d %H:%M UTC"


def as_utc(value: object) -> datetime | None:
    """Unix seconds, a datetime (naive ones are UTC, as the site's are) or an ISO 8601 text."""
    try:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            moment = datetime(value.year, value.month, value.day)
        elif isinstance(value, (int, float)) or (isinstance(value, str) and value.strip().isdigit()):
            moment = datetime.fromtimestamp(int(value), tz=UTC)
        elif isinstance(value, str) and value:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        else:
            return None
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@register.filter
def utc(value: object) -> str:
    """Any moment as 'YYYY-MM-DD HH:MM UTC' (empty when it is not one)."""
    moment = as_utc(value)
    return moment.strftime(FORMAT) if moment is not None else ""


@register.filter
def when(value: object) -> str:
    """An audit record's time: the same format as every other date on the pages."""
    return utc(value)


@register.filter
def action_word(action: object) -> str:
    """An audit record's action in the words the pages use ("Reveal" for detokenize)."""
    return audit_words.label(str(action))
