"""Refusals in the words of the pages, not of the API.

The vault and tokens.admin_ops name what they refuse the way the JSON API does
("role: unknown role ''", "data.TTL: TTL is beyond the maximum retention of
34560000 seconds"): a field's key, then the rule. A page shows the same rule
with the label the operator sees, in days rather than seconds. Like the
originals, these never repeat a submitted value.
"""

from __future__ import annotations

import re

DAY = 86400
# The key a message starts with -> the label on the page ("" when the sentence says it all).
LABELS = {
    "role": "Role",
    "roles": "Roles",
    "hours": "For hours",
    "reason": "Reason",
    "comment": "Comment",
    "name": "Name",
    "scopes": "Scopes",
    "fields": "Fields it may detokenize",
    "email": "Email",
    "token": "Token id",
    "expiry": "Keep for (days)",
    "new expiry": "New expiry",
    "dates": "Dates",
    "data": "",
    "operator": "",
    "request": "",
    "client": "",
    "action": "",
    "reset": "",
    "deactivate": "",
    "revoke": "",
    "TTL": "Expiry",
    "data.TTL": "Keep for (days)",
}
TTL_RULES = (
    (re.compile(r"^TTL is beyond the maximum retention of (\d+) seconds$"), "A token is kept at most {}."),
    (
        re.compile(r"^a token lives at most (\d+) seconds from its creation$"),
        "A token lives at most {} from its creation.",
    ),
    (re.compile(r"^TTL is in the past$"), "The new expiry is in the past: pick a later time."),
)
SECONDS = re.compile(r"(\d+) seconds?")
UNKNOWN_ROLE = re.compile(r"^unknown role '.*'$", re.S)


def _days(match: re.Match[str]) -> str:
    seconds = int(match.group(1))
    if seconds % DAY:
        return match.group(0)
    days = seconds // DAY
    return f"{days} day{'' if days == 1 else 's'}"


def sentence(text: str, capital: bool = True) -> str:
    text = SECONDS.sub(_days, text.strip())
    if not text:
        return text
    if capital:
        text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?", ")", "…")) else text + "."


def plain(message: str) -> str:
    """A refusal's message as a page says it."""
    key, colon, rule = message.partition(": ")
    if not colon:
        return sentence(message)
    if UNKNOWN_ROLE.match(rule):
        return "Pick a role from the list." if key == "role" else "Pick roles from the list."
    if key.startswith("data.") and key != "data.TTL":
        return f"Field “{key[5:]}”: {sentence(rule, capital=False)}"
    if key.startswith("row "):
        return f"Row {key[4:]}: {sentence(rule, capital=False)}"
    if key not in LABELS:
        return sentence(message)
    if key in ("TTL", "data.TTL"):
        return _expiry(rule)
    label = LABELS[key]
    return f"{label}: {sentence(rule, capital=False)}" if label else sentence(rule)


def _expiry(rule: str) -> str:
    for pattern, words in TTL_RULES:
        match = pattern.match(rule)
        if match:
            return words.format(*(SECONDS.sub(_days, f"{g} seconds") for g in match.groups()))
    return "Expiry: a date and time within the limits shown."
