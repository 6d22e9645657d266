from __future__ import annotations

from typing import Any

from django import template

from monitoring.charts import fmt

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
    return "—" if value is None else fmt(float(value))


@register.filter
def get(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key)


@register.filter
def outcome_label(name: str) -> str:
    return name.replace("_", " ").capitalize()
