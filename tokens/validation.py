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

FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
TOKEN_ID = re.compile(r"^TKN-[A-Z]{2,8}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
MAX_FIELDS = 32
MAX_VALUE_BYTES = 4096  # 32 x 4 KiB of ciphertext stays far inside DynamoDB's 400 KB
RESERVED_LOWER = {name.lower() for name in RESERVED} | {"ttl"}


def invalid(field: str, problem: str) -> InvalidInput:
    return InvalidInput(f"{field}: {problem}", details={"field": field, "problem": problem})


def is_token_id(value: object) -> bool:
    return isinstance(value, str) and TOKEN_ID.match(value) is not None


def only_keys(body: dict[str, Any], allowed: set[str], where: str = "body") -> None:
    for key in body:
        if key not in allowed:
            name = key if FIELD_NAME.match(key) else "(unnamed)"
            raise invalid(f"{where}.{name}", f"unknown key; expected only {', '.join(sorted(allowed))}")


def field_name(name: str, where: str) -> str:
    if name.startswith("*amzn-ddb-"):
        raise invalid(where, "field names starting '*amzn-ddb-' are reserved")
    if not FIELD_NAME.match(name):
        raise invalid(where, "a field name is 1-64 letters, digits or '_', starting with a letter")
    if name.lower() in RESERVED_LOWER:
        raise invalid(where, f"'{name}' is a reserved name")
    return name


def ttl(value: object, where: str, now: int | None = None) -> int:
    now = int(time.time()) if now is None else now
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
        where = f"data.{name}" if FIELD_NAME.match(name) else "data"
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
