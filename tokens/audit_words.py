"""The audit log's actions, in the words the pages use.

Records keep the vault's own names (`detokenize`, `delete`), which the API and
the exported CSV share; people read and search by the pages' words ("Reveal",
"Purge"). This is the one list that joins the two.
"""

from __future__ import annotations

import re

# action -> what the pages call it, grouped as the filter shows them.
GROUPS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "Vault data",
        (
            ("tokenize", "Tokenize"),
            ("metadata", "Look up"),
            ("search", "Find by value"),
            ("detokenize", "Reveal"),
            ("change_expiry", "Change expiry"),
            ("delete", "Purge"),
        ),
    ),
    (
        "Signing in",
        (
            ("sign_in", "Sign in"),
            ("sign_in_failed", "Sign-in failed"),
            ("sign_in_throttled", "Sign-in throttled"),
            ("sign_out", "Sign out"),
            ("reauthenticate", "Re-authenticate"),
            ("password_set", "Password set (sign-in link)"),
            ("password_change", "Password change"),
            ("mfa_added", "Authenticator added"),
            ("mfa_removed", "Authenticator removed"),
            ("mfa_reset", "Recovery codes renewed"),
            ("mfa_failed", "Wrong code"),
            ("page_forbidden", "Page refused"),
            ("authenticate", "API key refused"),
        ),
    ),
    (
        "People and clients",
        (
            ("operator_create", "Create operator"),
            ("operator_reset", "Reset operator"),
            ("operator_reset_requested", "Reset asked for"),
            ("operator_deactivate", "Deactivate operator"),
            ("role_grant", "Grant role"),
            ("role_grant_requested", "Grant asked for"),
            ("role_request_approve", "Approve request"),
            ("role_request_reject", "Reject request"),
            ("role_revoke", "Revoke role"),
            ("role_lapse", "Time-boxed role ended"),
            ("api_client_create", "Create API client"),
            ("api_client_revoke", "Revoke API client"),
        ),
    ),
    (
        "Audit and keys",
        (
            ("audit_search", "Audit search"),
            ("audit_export", "Audit export"),
            ("audit_verify", "Audit chain check"),
            ("rotate_keys", "Rotate keys"),
            ("rekey", "Re-key"),
            ("secret_rotate", "Rotate a secret"),
        ),
    ),
)
LABELS: dict[str, str] = {action: label for _, group in GROUPS for action, label in group}
ACTION_SHAPE = re.compile(r"^[a-z_]{1,40}$")


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")


# A page word, as typed in a query (?action=reveal, ?action=Look+up), -> the action.
_BY_WORD: dict[str, str] = {_key(label): action for action, label in LABELS.items()} | {
    "lookup": "metadata",
    "look_up": "metadata",
    "find": "search",
    "expiry": "change_expiry",
    "purge": "delete",
}


def label(action: str) -> str:
    """The pages' word for an action; the action itself when it has none yet."""
    return LABELS.get(action, action)


def action_of(text: str) -> str:
    """What a filter's `action` means: a record's action, or a page's word for one."""
    if text in LABELS:
        return text
    key = _key(text)
    if key in _BY_WORD:
        return _BY_WORD[key]
    return key


def choices() -> list[tuple[str, object]]:
    """For a <select>: every action, grouped, labelled "Reveal (detokenize)"."""
    grouped: list[tuple[str, object]] = [("", "any")]
    for name, group in GROUPS:
        grouped.append((name, [(action, f"{word} ({action})") for action, word in group]))
    return grouped
