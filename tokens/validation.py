"""Strict checks of what callers send. The first problem found is reported,
naming the field; a message never repeats a submitted value."""

from __future__ import annotations

import re
import time
from typing import Any

from django.conf import settings

from tokens import fieldtypes
from tokens.errors import InvalidInput
from tokens.layout import RESERVED

# Patterns are written once, for both these checks and the OpenAPI document
# (ECMA-262 there, where `$` ends the string). Python's `$` also matches before a
# final newline, so the checks here always use fullmatch.
FIELD_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"
TOKEN_ID_PATTERN = r"^TKN-[A-Z]{2,8}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
FIELD_NAME = re.compile(FIELD_NAME_PATTERN)
TOKEN_ID = re.compile(TOKEN_ID_PATTERN)
MAX_FIELDS = 32
MAX_BATCH = 100  # records or tokens in one batch request
MAX_VALUE_BYTES = 4096  # 32 x 4 KiB of ciphertext stays far inside DynamoDB's 400 KB
RESERVED_LOWER = {name.lower() for name in RESERVED} | {"ttl"}
# Names the field-name pattern lets through but that are reserved, in any case
# ("ttl", "TokenID", ...), as one ECMA-262 pattern for the document.
RESERVED_NAME_PATTERN = "^(?:{})$".format(
    "|".join(
        "".join(f"[{c.upper()}{c}]" if c.isalpha() else c for c in name)
        for name in sorted(RESERVED_LOWER)
        if re.fullmatch(FIELD_NAME_PATTERN, name)
    )
)


def invalid(field: str, problem: str) -> InvalidInput:
    return InvalidInput(f"{field}: {problem}", details={"field": field, "problem": problem})


def is_token_id(value: object) -> bool:
    return isinstance(value, str) and TOKEN_ID.fullmatch(value) is not None


def only_keys(body: dict[str, Any], allowed: set[str], where: str = "body") -> None:
    for key in body:
        if key not in allowed:
            name = key if FIELD_NAME.fullmatch(key) else "(unnamed)"
            raise invalid(f"{where}.{name}", f"unknown key; expected only {', '.join(sorted(allowed))}")


def field_name(name: str, where: str) -> str:
    if name.startswith("*amzn-ddb-"):
        raise invalid(where, "field names starting '*amzn-ddb-' are reserved")
    if not FIELD_NAME.fullmatch(name):
        raise invalid(where, "a field name is 1-64 letters, digits or '_', starting with a letter")
    if name.lower() in RESERVED_LOWER:
        raise invalid(where, f"'{name}' is a reserved name")
    return name


def ttl(value: object, where: str, now: int | None = None) -> int:
    now = int(time.time()) if now is None else now
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON has one number type: 1.7e9 is an integer too (as in JSON Schema)
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(where, "TTL must be an integer number of seconds since the Unix epoch")
    if value <= now:
        raise invalid(where, "TTL is in the past")
    if value > now + settings.VAULT_MAX_RETENTION:
        raise invalid(where, f"TTL is beyond the maximum retention of {settings.VAULT_MAX_RETENTION} seconds")
    return value


def tokenize_data(data: object, now: int | None = None) -> tuple[dict[str, str], int]:
    """Check a tokenize request's `data`; return (fields, expiry)."""
    if not isinstance(data, dict):
        raise invalid("data", "must be an object of field names to string values")
    expiry = None
    fields: dict[str, str] = {}
    for name, value in data.items():
        if name == "TTL":
            expiry = ttl(value, "data.TTL", now)
            continue
        where = f"data.{name}" if FIELD_NAME.fullmatch(name) else "data"
        field_name(name, where)
        if not isinstance(value, str):
            raise invalid(where, "values must be strings")
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError:  # a lone surrogate escape such as "\ud800"
            raise invalid(where, "values must be valid Unicode text") from None
        if size == 0:
            raise invalid(where, "values must not be empty")
        if size > MAX_VALUE_BYTES:
            raise invalid(where, f"values are at most {MAX_VALUE_BYTES} bytes of UTF-8")
        try:
            fieldtypes.normalize(name, value)
        except fieldtypes.TypeMismatch as exc:
            raise invalid(where, str(exc)) from None
        fields[name] = value
    if not fields:
        raise invalid("data", "give at least one field to tokenize")
    if len(fields) > MAX_FIELDS:
        raise invalid("data", f"at most {MAX_FIELDS} fields per token")
    if expiry is None:
        expiry = (int(time.time()) if now is None else now) + settings.VAULT_DEFAULT_RETENTION
    return fields, expiry


def batch(body: dict[str, Any], key: str) -> list[Any]:
    """The list under `key` of a batch body: 1 to MAX_BATCH entries, checked one by one later."""
    only_keys(body, {key})
    entries = body.get(key)
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_BATCH:
        raise invalid(key, f"is required: a list of 1 to {MAX_BATCH} entries")
    return entries


def batch_record(entry: object, where: str) -> object:
    """One entry of a tokenize batch, {"data": {...}}: its data."""
    if not isinstance(entry, dict):
        raise invalid(where, 'must be an object {"data": {...}}')
    only_keys(entry, {"data"}, where)
    if "data" not in entry:
        raise invalid(f"{where}.data", "is required")
    return entry["data"]


def detokenize_request(body: object, where: str = "") -> tuple[str, object, object]:
    """A detokenize request, {"tokenId", "fields"?, "mask"?}: (token id, fields, mask as sent).

    The token id is only checked to be a string (a malformed one is answered
    like an unknown token) and the fields are checked by the vault, so both
    refusals are audited there.
    """
    prefix = f"{where}." if where else ""
    if not isinstance(body, dict):
        raise invalid(where or "body", 'must be an object {"tokenId": ..., "fields": [...]}')
    only_keys(body, {"tokenId", "fields", "mask"}, where or "body")
    token_id = body.get("tokenId")
    if not isinstance(token_id, str):
        raise invalid(f"{prefix}tokenId", "is required and must be a string")
    return token_id, body.get("fields"), body.get("mask", False)


def field_list(value: object, where: str = "fields") -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise invalid(where, "must be a non-empty list of field names")
    if len(value) > MAX_FIELDS:
        raise invalid(where, f"at most {MAX_FIELDS} field names")
    return [field_name(v, where) for v in value]


ALIAS_FORMATS = ("card-last4", "same-format")


def alias_formats(value: object, fields: dict[str, str]) -> dict[str, str]:
    """{field: alias format} for a tokenize request's `aliases`."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid("aliases", "must be an object of field names to alias formats")
    formats: dict[str, str] = {}
    for name, kind in value.items():
        where = f"aliases.{name}" if FIELD_NAME.fullmatch(name) else "aliases"
        if name not in fields:
            raise invalid(where, "names no field of this token's data")
        if kind not in ALIAS_FORMATS:
            raise invalid(where, f"the alias format is one of {', '.join(ALIAS_FORMATS)}")
        formats[name] = kind
    return formats


def alias_ref(alias: object, field: object) -> tuple[str, str]:
    """(field, alias) for a detokenize by alias."""
    if not isinstance(field, str):
        raise invalid("field", "is required with alias and must be a field name")
    name = field_name(field, "field")
    if not isinstance(alias, str) or not 0 < len(alias) <= MAX_VALUE_BYTES:
        raise invalid("alias", f"must be a string of 1 to {MAX_VALUE_BYTES} characters")
    return name, alias


def search_query(field: object, value: object) -> tuple[str, str]:
    """(field, value) of a search; the value must pass its field's type."""
    if not isinstance(field, str):
        raise invalid("field", "is required and must be a field name")
    name = field_name(field, "field")
    if not isinstance(value, str) or not value:
        raise invalid("value", "is required and must be a non-empty string")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate escape such as "\ud800"
        raise invalid("value", "values must be valid Unicode text") from None
    if size > MAX_VALUE_BYTES:
        raise invalid("value", f"values are at most {MAX_VALUE_BYTES} bytes of UTF-8")
    try:
        fieldtypes.normalize(name, value)
    except fieldtypes.TypeMismatch as exc:
        raise invalid("value", str(exc)) from None
    return name, value


# --- The same rules as JSON Schema, for the OpenAPI document -----------------------


def field_name_schema() -> dict[str, Any]:
    return {
        "type": "string",
        "pattern": FIELD_NAME_PATTERN,
        "not": {"pattern": RESERVED_NAME_PATTERN},
        "description": (
            "1-64 letters, digits or '_', starting with a letter; not a reserved name "
            f"({', '.join(sorted(n for n in RESERVED_LOWER if FIELD_NAME.fullmatch(n)))}, in any case)."
        ),
        "example": "drivers_license",
    }


def field_value_schema() -> dict[str, Any]:
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_VALUE_BYTES,
        "description": (
            f"1 to {MAX_VALUE_BYTES} bytes of UTF-8 (a character outside ASCII counts 2 to 4 bytes); "
            "valid Unicode, so no lone surrogate."
        ),
    }


def ttl_schema(now: int) -> dict[str, Any]:
    return {
        "type": "integer",
        "exclusiveMinimum": now,
        "maximum": now + settings.VAULT_MAX_RETENTION,
        "description": (
            "Expiry in Unix seconds, relative to now: the server accepts any time after the moment "
            f"it receives the request and at most VAULT_MAX_RETENTION ({settings.VAULT_MAX_RETENTION} s) "
            "after it, and when changing an expiry at most that long after the token's creation. "
            "`exclusiveMinimum` and `maximum` are that window as of when this document was served: "
            "compute a TTL from the current time when sending."
        ),
        "example": now + settings.VAULT_DEFAULT_RETENTION,
    }


# What JSON Schema can say of each declared field type (tokens/fieldtypes.py);
# the description gives the rest (a card's Luhn check, an SSN's never-issued parts).
TYPE_RULES: dict[str, dict[str, Any]] = {
    "card": {
        "pattern": r"^[0-9](?:[ -]?[0-9]){11,18}$",
        "description": (
            "card: 12 to 19 digits, optionally grouped by single spaces or dashes, passing the Luhn check"
        ),
        "example": "4111 1111 1111 1111",
    },
    "cvc": {"pattern": r"^[0-9]{3,4}$", "description": "cvc: 3 or 4 digits", "example": "123"},
    "date": {
        "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        "format": "date",
        "description": "date: a real calendar day, YYYY-MM-DD",
        "example": "1980-02-29",
    },
    "us_ssn": {
        "pattern": r"^(?!000|666|9)[0-9]{3}-?(?!00)[0-9]{2}-?(?!0000)[0-9]{4}$",
        "description": (
            "us_ssn: AAA-GG-SSSS or AAAGGSSSS; area not 000, 666 or 9xx, group not 00, serial not 0000"
        ),
        "example": "123-45-6789",
    },
    "email": {
        # The server's rule for ASCII text ([^@\s] there), as printable ASCII but '@'.
        "pattern": fieldtypes.EMAIL.pattern.replace("[^@\\s]", "[!-?A-~]"),
        "maxLength": 254,
        "description": "email: local@domain, the domain with at least one dot, at most 254 ASCII characters",
        "example": "a.person@example.org",
    },
}


def typed_fields_schema() -> dict[str, Any]:
    """The field names with a declared type (settings.VAULT_FIELD_TYPES) and their rules."""
    return {
        name: {**field_value_schema(), **TYPE_RULES[kind]}
        for name, kind in sorted(settings.VAULT_FIELD_TYPES.items())
        if kind in TYPE_RULES
    }


def token_data_schema(now: int) -> dict[str, Any]:
    fields = {"additionalProperties": field_value_schema()}
    return {
        "type": "object",
        "description": (
            f"Field name -> value, 1 to {MAX_FIELDS} fields, plus an optional `TTL` "
            f"(default: {settings.VAULT_DEFAULT_RETENTION} s from now). Field names with a declared "
            "type (listed under properties) must hold a value of that type."
        ),
        "properties": {"TTL": ttl_schema(now), **typed_fields_schema()},
        "propertyNames": {"anyOf": [{"const": "TTL"}, field_name_schema()]},
        **fields,
        "anyOf": [
            {"required": ["TTL"], "minProperties": 2, "maxProperties": MAX_FIELDS + 1},
            {"not": {"required": ["TTL"]}, "minProperties": 1, "maxProperties": MAX_FIELDS},
        ],
        "example": {
            "drivers_license": "987654321",
            "medicare_card": "1234 56789 0",
            "TTL": now + settings.VAULT_DEFAULT_RETENTION,
        },
    }


def field_list_schema() -> dict[str, Any]:
    return {
        "type": "array",
        "items": field_name_schema(),
        "minItems": 1,
        "maxItems": MAX_FIELDS,
        "description": "The fields to return; without it, all (that the caller may read).",
    }


def token_id_schema() -> dict[str, Any]:
    return {
        "type": "string",
        "pattern": TOKEN_ID_PATTERN,
        "description": (
            "TKN-<region code>-<UUID v4>. A string of another shape is answered like an unknown "
            "token (404 token_not_found)."
        ),
        "example": "TKN-SYD-4b30f90b-d478-4e4d-8b8d-96e34522f553",
    }
