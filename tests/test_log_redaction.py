"""What callers type never reaches a log line through a path, a query string or a number."""

from __future__ import annotations

import pytest

from tokens.redaction import redact

TOKEN = "TKN-SYD-4b30f90b-d478-4e4d-8b8d-96e34522f553"


@pytest.mark.parametrize(
    "line, expected",
    [
        (f'"GET /api/v1/tokens/{TOKEN} HTTP/1.1" 200', f'"GET /api/v1/tokens/{TOKEN} HTTP/1.1" 200'),
        (
            '"GET /api/v1/tokens/4111 1111 1111 1111 HTTP/1.1" 404',
            '"GET /api/v1/tokens/(redacted) HTTP/1.1" 404',
        ),
        ("Not Found: /api/v1/tokens/4111-MARKER", "Not Found: /api/v1/tokens/(redacted)"),
        ('"GET /audit/?token=4111x&actor=bob HTTP/1.1" 200', '"GET /audit/?(redacted) HTTP/1.1" 200'),
        ("Not Found: /api/v1/detokenize/4111111111111111", "Not Found: /api/v1/detokenize/(redacted number)"),
        ("card 4111 1111 1111 1111 seen", "card (redacted number) seen"),
        ("ttl 1749865423 and count 12", "ttl 1749865423 and count 12"),
    ],
)
def test_it_redacts_what_callers_typed(line: str, expected: str) -> None:
    assert redact(line) == expected


def test_zappa_request_lines_are_not_logged_at_info() -> None:
    import logging

    assert not logging.getLogger("zappa.wsgi").isEnabledFor(logging.INFO)
    assert not logging.getLogger("zappa.handler").isEnabledFor(logging.INFO)
