"""Parsing what the operator pages post. Problems are InvalidInput, like the
vault's own, and a message never repeats a submitted value."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.http import QueryDict

from tokens import audit_access, audit_words, roles, validation
from tokens.actors import PERMISSIONS
from tokens.errors import InvalidInput

DAY = 86400
BLANK_ROWS = 4


def retention_days() -> tuple[int, int]:
    """(default, maximum) retention in whole days."""
    return max(1, settings.VAULT_DEFAULT_RETENTION // DAY), max(1, settings.VAULT_MAX_RETENTION // DAY)


@dataclass
class TokenizeRows:
    """The rows of a tokenize form. Values are never sent back to the page."""

    names: list[str] = field(default_factory=lambda: [""] * BLANK_ROWS)
    days: str = ""
    data: dict[str, Any] = field(default_factory=dict, repr=False)


def names_only(post: QueryDict) -> TokenizeRows:
    """The form as submitted, less every value: what a page may show again."""
    names = [n.strip()[:64] for n in post.getlist("name")][:64]
    return TokenizeRows(
        names=names + [""] * max(0, BLANK_ROWS - len(names)), days=post.get("days", "").strip()[:6]
    )


def tokenize_rows(post: QueryDict, now: int | None = None) -> TokenizeRows:
    now = int(time.time()) if now is None else now
    names = [n.strip() for n in post.getlist("name")]
    values = post.getlist("value")
    rows = TokenizeRows(
        names=names + [""] * max(0, BLANK_ROWS - len(names)), days=post.get("days", "").strip()
    )
    for number, (name, value) in enumerate(zip(names, values, strict=False), start=1):
        if not name and not value:
            continue
        if not name:
            raise InvalidInput(f"row {number}: give the field a name")
        if name == "TTL":  # the API's expiry key; the form has its own box
            raise InvalidInput(f"row {number}: 'TTL' is a reserved name")
        if name in rows.data:
            raise InvalidInput(f"row {number}: that field name is already used above")
        rows.data[name] = value
    if len(values) > len(names) and any(values[len(names) :]):
        raise InvalidInput("every value needs a field name")
    if rows.days:
        _, longest = retention_days()
        if not rows.days.isdigit() or not 1 <= int(rows.days) <= longest:
            raise InvalidInput(f"expiry: a whole number of days from 1 to {longest}")
        rows.data["TTL"] = now + int(rows.days) * DAY
    return rows


def shown_token(post: QueryDict) -> str:
    """The token id to put back in the form: only a well-formed one (people paste
    the wrong thing into that box, sometimes the very value they mean to protect)."""
    value = post.get("token", "").strip()
    return value if validation.is_token_id(value) else ""


def token_id(post: QueryDict) -> str:
    value = post.get("token", "").strip()
    if not value:
        raise InvalidInput("token: paste a token id, e.g. TKN-SYD-…")
    return value


def expiry_time(post: QueryDict) -> int:
    """A date-time typed as UTC (an <input type=datetime-local>) as Unix seconds."""
    raw = post.get("expires", "").strip()
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput("new expiry: a date and time such as 2031-01-31 12:00, in UTC") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp())


def typed_expiry(post: QueryDict) -> str:
    """What was typed in the expiry box, to show again: only if it reads as a date and time."""
    try:
        return as_input(expiry_time(post))
    except (InvalidInput, ValueError, OverflowError, OSError):
        return ""


def as_input(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M")


class AuditFilter(forms.Form):
    # Strict shapes: what is typed here is itself written to the audit log.
    actor = forms.CharField(required=False, max_length=150, label="Actor (name or id)")
    # The real actions, labelled with the pages' words; a query may use either
    # (?action=reveal finds the detokenize records).
    action = forms.ChoiceField(
        required=False,
        choices=audit_words.choices,
        error_messages={"invalid_choice": "Not an action the audit log records: pick one from the list."},
    )
    token = forms.CharField(required=False, max_length=80, label="Token id")
    outcome = forms.ChoiceField(
        required=False,
        choices=[("", "any")]
        + [
            (o, o)
            for o in ("success", "denied", "invalid", "not_found", "integrity_failure", "error", "honeytoken")
        ],
    )
    start = forms.DateField(
        required=False, label="From (UTC date)", widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        required=False, label="To (UTC date)", widget=forms.DateInput(attrs={"type": "date"})
    )

    MAX_DAYS = 92

    # A malformed token or actor filter is refused, and not shown again (see
    # shown_token): people paste the wrong thing, sometimes a card number.
    SHAPES = {
        "token": (validation.is_token_id, "Not a token id (TKN-…)."),
        "actor": (
            audit_access.is_actor_filter,
            "A username or an id such as user:3 or client:7 (letters, digits and @.+-_: only).",
        ),
    }

    def __init__(self, data: QueryDict | dict[str, Any] | None = None) -> None:
        self.refused: list[str] = []
        for name, (fits, _) in self.SHAPES.items():
            if data is not None and data.get(name) and not fits(str(data.get(name)).strip()):
                data = data.copy()
                data[name] = ""
                self.refused.append(name)
        typed = str(data.get("action") or "").strip() if data is not None else ""
        action = audit_words.action_of(typed[:80]) if typed else ""
        if data is not None and action != typed:
            data = data.copy()
            data["action"] = action
        super().__init__(data)
        if action and action not in audit_words.LABELS and audit_words.ACTION_SHAPE.fullmatch(action):
            # An action this list does not name yet (a newer feature's) is still searchable.
            field = self.fields["action"]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [*audit_words.choices(), (action, action)]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in self.refused:
            self.add_error(name, self.SHAPES[name][1])
        return cleaned

    def clean_actor(self) -> str:
        return str(self.cleaned_data.get("actor", "")).strip()

    def clean_token(self) -> str:
        return str(self.cleaned_data.get("token", "")).strip()

    def filters(self) -> dict[str, str]:
        return {k: self.cleaned_data.get(k) or "" for k in ("actor", "action", "outcome")} | {
            "token_id": self.cleaned_data.get("token") or ""
        }

    def window(self) -> tuple[datetime, datetime]:
        today = datetime.now(UTC).date()
        end: date = self.cleaned_data.get("end") or today
        start: date = self.cleaned_data.get("start") or end - timedelta(days=6)
        if start > end:
            raise InvalidInput("dates: 'from' is after 'to'")
        if (end - start).days >= self.MAX_DAYS:
            raise InvalidInput(f"dates: search at most {self.MAX_DAYS} days at a time")
        start_at = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
        end_at = datetime.combine(end, datetime.max.time(), tzinfo=UTC)
        return start_at, end_at


# Scopes a page never grants, and why (shown beside the greyed-out box).
COMMAND_LINE_SCOPES = {
    "detokenize": (
        "Only the command line grants it (manage.py createapiclient NAME --scopes detokenize): "
        "a key that reveals values must not come from one vault admin's browser."
    ),
}


class ScopeBoxes(forms.CheckboxSelectMultiple):
    """Checkboxes, the command-line-only scopes greyed out with their reason beside them."""

    option_template_name = "tokens/widgets/scope_option.html"

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option: dict[str, Any] = super().create_option(name, value, *args, **kwargs)
        if value in COMMAND_LINE_SCOPES:
            option["why"] = COMMAND_LINE_SCOPES[value]
            option["attrs"] = {**option["attrs"], "disabled": True, "aria-describedby": f"why-{value}"}
            option["selected"] = False
            option["attrs"].pop("checked", None)
        return option


class ClientForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="The calling service, e.g. payments-api.")
    # detokenize stays a choice so that a try (a crafted POST) is refused and audited by admin_ops.
    scopes = forms.MultipleChoiceField(
        choices=[(p, f"{p} (command line only)" if p in COMMAND_LINE_SCOPES else p) for p in PERMISSIONS],
        widget=ScopeBoxes,
    )
    allowed_fields = forms.CharField(
        required=False,
        max_length=2000,
        label="Fields it may detokenize",
        help_text="Comma-separated field names; leave empty for all fields.",
    )

    def field_names(self) -> list[str]:
        return [f.strip() for f in self.cleaned_data.get("allowed_fields", "").split(",") if f.strip()]


class OperatorForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(help_text="Their sign-in link goes here; they may also sign in with it.")
    roles = forms.MultipleChoiceField(
        required=False,
        choices=[(r.name, f"{r.name} — {r.summary}") for r in roles.ROLES.values()],
        widget=forms.CheckboxSelectMultiple,
    )
