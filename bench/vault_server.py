"""The vault's WSGI application served on a loopback port: `python bench/vault_server.py PORT`.

For bench/batch_over_http.py, which starts one per function role (the
environment says which: VAULT_FUNCTION_ROLE, AWS_ENDPOINT_URL, ...). Werkzeug's
server with bench/emulator_server.py's keep-alive, so a client keeps its
connection between requests, as it does with API Gateway.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if __name__ == "__main__":
    from werkzeug.serving import run_simple

    from bench.emulator_server import keep_alive

    keep_alive()
    from vaultsite.wsgi import application

    run_simple("127.0.0.1", int(sys.argv[1]), application, threaded=True)
