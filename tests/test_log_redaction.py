"""What callers type never reaches a log line through a path, a query string or a number."""

from __future__ import annotations

from typing import Any

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
        ("Not Found: /api/v1/detokenize/4111111111111111", "Not Found: /api/v1/(redacted)"),
        ("card 4111 1111 1111 1111 seen", "card (redacted number) seen"),
        ("ttl 1749865423 and count 12", "ttl 1749865423 and count 12"),
        ('"GET /no/4111.1111.1111.1111 HTTP/1.1" 404 179', '"GET /(redacted) HTTP/1.1" 404 179'),
        ('"GET /no/4111.1111.1111.1111 HTTP/1.1" 200 179', '"GET /no/(redacted number) HTTP/1.1" 200 179'),
        ("value /no/4111.1111.1111.1111", "value /no/(redacted number)"),
        ("value /no/4111%201111%201111%201111", "value /no/(redacted number)"),
        ("value /no/4111%2E1111%2e1111%2E1111", "value /no/(redacted number)"),
        ("value /no/4111_1111/1111+1111", "value /no/(redacted number)"),
        ("value /no/4111 - 1111 - 1111 - 1111", "value /no/(redacted number)"),
        ("value /no/x4111111111111111y", "value /no/x(redacted number)y"),
        ("value /no/41111111111111112026", "value /no/(redacted number)"),
        # A path that found nothing keeps only the vault's endpoints, token ids and known starts.
        ("Not Found: /api/v1/detokenize/MARKER-SECRET-123", "Not Found: /api/v1/(redacted)"),
        (
            '"GET /api/v1/detokenize/jane.doe@example.com HTTP/1.1" 404 9',
            '"GET /api/v1/(redacted) HTTP/1.1" 404 9',
        ),
        ("Not Found: /api/v2/tokens/PA1234567", "Not Found: /api/(redacted)"),
        ("Not Found: /PA1234567/x?y=1", "Not Found: /(redacted)?(redacted)"),
        ("Not Found: /x%20HTTP/PA1234567".replace("%20", " "), "Not Found: /(redacted)"),
        ("Not Found: /api/v1/detokenize", "Not Found: /api/v1/detokenize"),
        (f"Not Found: /api/v1/tokens/{TOKEN}", f"Not Found: /api/v1/tokens/{TOKEN}"),
        # runserver's request lines, whatever the method's spelling, HTTP/0.9 included, and
        # http.server's complaint quoting a request line it could not parse.
        (
            '"get /api/v1/detokenize/jane.doe@example.com HTTP/1.1" 404 5',
            '"get /api/v1/(redacted) HTTP/1.1" 404 5',
        ),
        ('"M-SEARCH /PA1234567 HTTP/1.1" 404 5', '"M-SEARCH /(redacted) HTTP/1.1" 404 5'),
        ('"GET /api/v1/detokenize/jane.doe@example.com" 404 5', '"GET /api/v1/(redacted)" 404 5'),
        ('"GET /api/v1/detokenize/jane doe HTTP/1.1" 400 -', '"GET /api/v1/(redacted) HTTP/1.1" 400 -'),
        (
            "code 400, message Bad request syntax ('GET /api/v1/detokenize/jane doe HTTP/1.1')",
            "code 400, message Bad request syntax ('(redacted)')",
        ),
        ('"POST /api/v1/tokens HTTP/1.1" 400 120', '"POST /api/v1/tokens HTTP/1.1" 400 120'),
        (
            '"GET /api/v1/tokens/PA1234567   HTTP/1.1" 200 5',
            '"GET /api/v1/tokens/(redacted)   HTTP/1.1" 200 5',
        ),
        (
            "integrity failure: detokenize of TKN-SYD-2b7acb04-9ff5-4123-8456-789012345daf refused",
            "integrity failure: detokenize of TKN-SYD-2b7acb04-9ff5-4123-8456-789012345daf refused",
        ),
        (
            "request 0b2a6f7e-1234-4567-8901-234567890abc 4111.1111.1111.1111",
            "request 0b2a6f7e-1234-4567-8901-234567890abc (redacted number)",
        ),
        ("41111111-1111-1111-1111-111111111111", "(redacted number)"),
    ],
)
def test_it_redacts_what_callers_typed(line: str, expected: str) -> None:
    assert redact(line) == expected


def test_zappa_request_lines_are_not_logged_at_info() -> None:
    import logging

    assert not logging.getLogger("zappa.wsgi").isEnabledFor(logging.INFO)
    assert not logging.getLogger("zappa.handler").isEnabledFor(logging.INFO)


@pytest.mark.parametrize("path", ["/no/4111.1111.1111.1111", "/no/4111%201111%201111%201111"])
def test_a_card_number_in_an_unknown_path_stays_out_of_the_not_found_line(
    path: str, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    assert client.get(path).status_code == 404
    assert "Not Found" in caplog.text
    assert "1111" not in caplog.text


@pytest.mark.parametrize(
    "path", ["/api/v1/detokenize/MARKER-SECRET-123", "/api/v1/nosuch/jane.doe@example.com", "/PA1234567"]
)
def test_what_a_caller_put_in_a_path_that_found_nothing_stays_out_of_the_log(
    path: str, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    assert client.post(path, "{}", content_type="application/json").status_code == 404
    assert "Not Found" in caplog.text
    for secret in ("MARKER", "jane.doe", "PA1234567"):
        assert secret not in caplog.text


@pytest.mark.parametrize(
    "line",
    [
        "Not Found: /x{spaces}y",
        "Not Found: /api/v1/tokens/x{spaces}y",
        '"GET /x{spaces}y HTTP/1.1" 404 5',
        "GET /api/v1/tokens/a{spaces}",
    ],
)
def test_a_long_run_of_spaces_in_a_path_is_redacted_in_linear_time(line: str) -> None:
    """A caller controls the path (%20 arrives as spaces): a pattern whose time grows with
    the square of a run of spaces would stall every log call. 200,000 spaces take
    milliseconds when linear and minutes when quadratic; the bound is far from both."""
    import time

    text = line.format(spaces=" " * 200_000)
    started = time.process_time()
    redacted = redact(text)
    assert time.process_time() - started < 5
    assert "y" not in redacted  # what followed the spaces was part of the path: redacted
