"""A logging filter for lines that may carry what a caller typed: request
paths and query strings (a card number put where a token id goes), long
digit runs anywhere (a card number pasted into the wrong box), and the token
of an operator's sign-in link."""

from __future__ import annotations

import logging
import re

from tokens.validation import is_token_id

# A token path runs to the end of the request target: a quote, " HTTP/", or the end.
_TOKEN_PATH = re.compile(r"(/api/v1/tokens/)(.+?)(?=\"|\s+HTTP/|\s*$)", re.MULTILINE)
# A sign-in link's token is a credential: /accounts/welcome/<uid>/<token>/.
_SIGN_IN_LINK = re.compile(r"(/accounts/welcome/[^/\s\"]+/)(?!set-password/)[^/\s\"?]+")
_QUERY = re.compile(r"\?[^\s\"]*")
# Twelve digits or more, whatever separates them: up to three characters that
# are neither letters nor quotes, or URL escapes (%20, %2E). Any length, so a
# card number followed by more digits is caught too; a long number that is not
# a card is redacted as well, which costs nothing.
_SEPARATOR = r'(?:%[0-9A-Fa-f]{2}|[^0-9A-Za-z"\n])'
_DIGIT_RUN = re.compile(rf"(?<!\d)\d(?:{_SEPARATOR}{{0,3}}\d){{11,}}(?!\d)")
# A UUID (in a token id or a request id) is no card number, though its digits
# across the dashes may be twelve or more: it is kept whole. One without a
# letter (one in about three million) is treated as digits like any other.
_UUID = re.compile(
    r"(?<![0-9A-Za-z])[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}(?![0-9A-Za-z])", re.IGNORECASE
)


def _numbers(text: str) -> str:
    kept, last = [], 0
    for match in _UUID.finditer(text):
        if not any(c.isalpha() for c in match.group()):
            continue
        kept.append(_DIGIT_RUN.sub("(redacted number)", text[last : match.start()]))
        kept.append(match.group())
        last = match.end()
    kept.append(_DIGIT_RUN.sub("(redacted number)", text[last:]))
    return "".join(kept)


def redact(text: str) -> str:
    text = _QUERY.sub("?(redacted)", text)
    text = _SIGN_IN_LINK.sub(r"\1(redacted)", text)
    text = _TOKEN_PATH.sub(
        lambda m: m.group(1) + (m.group(2) if is_token_id(m.group(2)) else "(redacted)"), text
    )
    return _numbers(text)


class RedactPaths(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if hasattr(record, "request"):
            record.request = None  # its path and body would bypass the redaction
        return True
