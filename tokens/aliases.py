"""Format-preserving aliases: random stand-ins shaped like the value they replace.

An alias keeps only what its format promises and nothing else of the value:
- "card-last4": same length and separators, the last four digits kept, every
  other digit random, and the whole failing the Luhn check so it can never be
  taken for a real card;
- "same-format": every digit replaced by a random digit and every letter by a
  random letter of the same case, separators kept (card-typed fields also fail
  the Luhn check).
Uniqueness across the vault is the store's job (a conditional write, retried).
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable

from tokens import fieldtypes
from tokens.fieldtypes import TypeMismatch

FORMATS = ("card-last4", "same-format")
# Below this many random characters an alias is too easy to guess or collide.
MIN_RANDOM_CHARS = 6


def _random_char(char: str) -> str:
    if char.isdigit():
        return secrets.choice(string.digits)
    if char.isalpha():
        return secrets.choice(string.ascii_uppercase if char.isupper() else string.ascii_lowercase)
    return char


def _break_luhn(chars: list[str], free: list[int]) -> None:
    """Make the digits fail Luhn by changing one freely chosen digit.

    Luhn's doubling maps 0-9 onto 0-9 one to one, so changing any single digit
    changes the checksum by a non-zero amount modulo 10.
    """
    digits = "".join(c for c in chars if c.isdigit())
    if fieldtypes.luhn_ok(digits):
        where = free[0]
        chars[where] = str((int(chars[where]) + 1) % 10)


def card_last4(value: str) -> str:
    digits = [i for i, c in enumerate(value) if c.isdigit()]
    if len(digits) - 4 < MIN_RANDOM_CHARS or any(not (c.isdigit() or c in " -") for c in value):
        raise TypeMismatch("card-last4 aliases need a card number of at least 10 digits")
    free = digits[:-4]
    chars = list(value)
    for i in free:
        chars[i] = secrets.choice(string.digits)
    _break_luhn(chars, free)
    return "".join(chars)


def same_format(value: str, *, fail_luhn: bool = False) -> str:
    free = [i for i, c in enumerate(value) if c.isalnum()]
    if len(free) < MIN_RANDOM_CHARS:
        raise TypeMismatch(f"same-format aliases need at least {MIN_RANDOM_CHARS} letters or digits")
    chars = [_random_char(c) for c in value]
    if fail_luhn:
        _break_luhn(chars, [i for i in free if chars[i].isdigit()])
    return "".join(chars)


def generate(kind: str, field: str, value: str) -> str:
    """A fresh alias of `value` for `field`; TypeMismatch when the value cannot have one."""
    if kind == "card-last4":
        return card_last4(value)
    if kind == "same-format":
        return same_format(value, fail_luhn=fieldtypes.type_of(field).name == "card")
    raise ValueError(f"unknown alias format {kind!r}")


class NoFreeAlias(Exception):
    """Every attempt collided: the format leaves too few free characters."""


def claim(kind: str, field: str, value: str, put_if_absent: Callable[[str], bool], attempts: int = 8) -> str:
    """Generate aliases until the store accepts one it did not hold (its conditional write)."""
    for _ in range(attempts):
        alias = generate(kind, field, value)
        if put_if_absent(alias):
            return alias
    raise NoFreeAlias(f"no free {kind} alias for {field} after {attempts} attempts")
