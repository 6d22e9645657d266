"""moto's server as the benches run it: `python bench/emulator_server.py -H 127.0.0.1 -p PORT`.

Two changes to how it serves, neither to what it answers:
- tests/emulator_speed's patch: a transaction copies each table once, not once
  per action, so answers do not slow down with every item a bench makes;
- HTTP keep-alive. Werkzeug's development server ends every answer with
  `Connection: close`, so each AWS call would open a new TCP connection, which
  botocore does not do against AWS (it keeps its connections). After each
  answer it also reads whatever the client sent next, for 10 ms, and throws it
  away (safe only because it closes): that would eat the next request on the
  connection, so it goes too. Every request botocore sends has a
  Content-Length that moto reads in full, so the next request line is where
  the server expects it.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def keep_alive() -> None:
    from werkzeug import serving
    from werkzeug.serving import WSGIRequestHandler

    send_header = WSGIRequestHandler.send_header

    def send(self: Any, keyword: str, value: str) -> None:
        if keyword.lower() == "connection" and value.lower() == "close":
            return
        send_header(self, keyword, value)

    WSGIRequestHandler.send_header = send  # type: ignore[method-assign]
    setup = WSGIRequestHandler.setup

    def no_delay(self: Any) -> None:
        # An answer's headers and body go out as two writes: with Nagle's algorithm the
        # body waits for the client's (delayed) ACK of the headers, 40 ms a call.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        setup(self)

    WSGIRequestHandler.setup = no_delay  # type: ignore[method-assign]

    class NothingLeft:
        """werkzeug.serving's selectors, as its after-answer drain sees them: nothing to read."""

        EVENT_READ = 1

        class DefaultSelector:
            def register(self, *args: Any) -> None:
                pass

            def select(self, timeout: float | None = None) -> list[Any]:
                return []

            def close(self) -> None:
                pass

    serving.selectors = NothingLeft  # type: ignore[assignment]


if __name__ == "__main__":
    from moto.server import main

    from tests import emulator_speed

    emulator_speed.copy_each_table_once()
    keep_alive()
    main(sys.argv[1:])
