"""A logging filter for lines that may carry what a caller typed: request
paths and query strings (a card number put where a token id goes), long
digit runs anywhere (a card number pasted into the wrong box), and the token
of an operator's sign-in link.

A path that found nothing (a 404 line) may hold anything a caller typed
(`/api/v1/detokenize/PA1234567`): only the vault's own endpoints, a token id,
or the known start of the path (`/api/v1/`) is kept of it."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from tokens.validation import is_token_id

# A token path runs to the end of the request target: a quote, " HTTP/", or the end of
# the line (found by _target, not by the pattern: a lazy match with a lookahead for
# trailing spaces takes time in the square of a run of spaces, which a caller controls).
_TOKEN_PATH = re.compile(r'(/api/v1/tokens/)([^"\n]*)')
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


# Django's "Not Found: <path>" line; a server's request line answered 404 or 400 (any
# method's spelling, HTTP/0.9's line without a version); http.server's complaint about
# a request line it could not parse, which quotes the line.
_NOT_FOUND = re.compile(r"^(Not Found: )([^\n]*)$", re.MULTILINE)
_REQUEST_LINE = re.compile(r'("[^\s"]+ )([^"\n]+?)((?: HTTP/[0-9.]+)?" (?:400|404)\b)')
_BAD_REQUEST_LINE = re.compile(r"(Bad (?:request (?:syntax|version)|HTTP/0\.9 request type) \()([^\n]*)(\))")
KNOWN_PATHS = frozenset(
    {
        "/api/v1/tokens",
        "/api/v1/tokens/search",
        "/api/v1/tokens/batch",
        "/api/v1/detokenize",
        "/api/v1/detokenize/batch",
        "/api/v1/openapi.json",
        "/api/v1/docs",
        "/healthz",
        "/readyz",
    }
)
_KEPT_STARTS = ("/api/v1/tokens/", "/api/v1/", "/api/", "/")


def _unknown_path(path: str) -> str:
    """What a log may keep of a path that was not found."""
    path, query, _ = path.partition("?")
    query = "?(redacted)" if query else ""
    if path in KNOWN_PATHS:
        return path + query
    if path.startswith("/api/v1/tokens/") and is_token_id(path.removeprefix("/api/v1/tokens/")):
        return path + query
    start = next((s for s in _KEPT_STARTS if path.startswith(s)), "")
    return f"{start}(redacted){query}"


def _target(rest: str, stop: str) -> tuple[str, str]:
    """(the request target, what follows it) in the rest of a line after a path's start:
    up to `stop` (a request line's " HTTP/") if given, less trailing spaces."""
    end = rest.find(stop) if stop else -1
    target = (rest if end < 0 else rest[:end]).rstrip()
    return target, rest[len(target) :]


def _path_kept(keep: Callable[[str], str], stop: str = "") -> Callable[[re.Match[str]], str]:
    """A substitution for (start, rest of line): `keep` decides what the target becomes."""

    def sub(m: re.Match[str]) -> str:
        target, tail = _target(m.group(2), stop)
        return m.group(1) + keep(target) + tail if target else m.group(0)

    return sub


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
    text = _NOT_FOUND.sub(_path_kept(_unknown_path), text)
    text = _REQUEST_LINE.sub(lambda m: m.group(1) + _unknown_path(m.group(2)) + m.group(3), text)
    text = _BAD_REQUEST_LINE.sub(r"\1'(redacted)'\3", text)
    text = _TOKEN_PATH.sub(_path_kept(lambda t: t if is_token_id(t) else "(redacted)", " HTTP/"), text)
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
