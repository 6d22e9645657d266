"""A logging filter that keeps anything but a well-formed token id out of the
paths Django logs (a caller could put a card number where a token id goes)."""

from __future__ import annotations

import logging
import re

from tokens.validation import is_token_id

_TOKEN_PATH = re.compile(r"(/api/v1/tokens/)([^\s\"?]+)")


def redact(text: str) -> str:
    return _TOKEN_PATH.sub(
        lambda m: m.group(1) + (m.group(2) if is_token_id(m.group(2)) else "(redacted)"), text
    )


class RedactPaths(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if hasattr(record, "request"):
            record.request = None  # its path and body would bypass the redaction
        return True
