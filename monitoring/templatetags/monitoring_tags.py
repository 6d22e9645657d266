from __future__ import annotations

from typing import Any

from django import template

register = template.Library()

STATES = {
    "ALARM": "In alarm",
    "OK": "OK",
    "INSUFFICIENT_DATA": "Learning",
    "not set up": "Not set up",
    "": "—",
}


@register.filter
def state_label(state: str) -> str:
    return STATES.get(state, state)


@register.filter
def number(value: Any) -> str:
    if value is None:
        return "—"
    value = float(value)
    if abs(value) >= 100 or value.is_integer():
        return f"{value:.0f}"
    return f"{value:.1f}"


@register.filter
def get(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key)


@register.filter
def outcome_label(name: str) -> str:
    return name.replace("_", " ").capitalize()
