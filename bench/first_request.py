"""Run in a fresh process by bench/coldstart.py: load one Django project's WSGI
application and answer one request, then print one JSON line and exit.

    python bench/first_request.py PROJECT_DIR WSGI_MODULE METHOD PATH [BODY]

Imports nothing but the standard library before the project itself, so the
process pays exactly what the project makes it pay. HTTP headers come from
BENCH_HEADERS (JSON) in the environment. With BENCH_TIME_AWS=1 it also sums
the time spent waiting for AWS's (the emulator's) answers, by timing
botocore's Endpoint._send.
"""

import io
import json
import os
import resource
import sys
import time

project, wsgi_module, method, path = sys.argv[1:5]
body = sys.argv[5].encode() if len(sys.argv) > 5 else b""
sys.path.insert(0, project)

aws_wait = [0.0]
if os.environ.get("BENCH_TIME_AWS") == "1":
    import botocore.endpoint

    _send = botocore.endpoint.Endpoint._send

    def _timed_send(self, request):
        started = time.perf_counter()
        try:
            return _send(self, request)
        finally:
            aws_wait[0] += time.perf_counter() - started

    botocore.endpoint.Endpoint._send = _timed_send

loaded_at = time.perf_counter()
application = __import__(wsgi_module, fromlist=["application"]).application
environ = {
    "REQUEST_METHOD": method,
    "PATH_INFO": path,
    "QUERY_STRING": "",
    "SERVER_NAME": "localhost",
    "SERVER_PORT": "443",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "HTTP_HOST": "localhost",
    "HTTP_X_FORWARDED_PROTO": "https",
    "REMOTE_ADDR": "127.0.0.1",
    "CONTENT_TYPE": "application/json",
    "CONTENT_LENGTH": str(len(body)),
    "wsgi.input": io.BytesIO(body),
    "wsgi.errors": sys.stderr,
    "wsgi.url_scheme": "https",
    "wsgi.version": (1, 0),
    "wsgi.multithread": False,
    "wsgi.multiprocess": True,
    "wsgi.run_once": False,
}
environ.update(json.loads(os.environ.get("BENCH_HEADERS", "{}")))
statuses = []
request_at = time.perf_counter()
result = application(environ, lambda status, headers, exc_info=None: statuses.append(status))
content = b"".join(result)
getattr(result, "close", lambda: None)()
answered_at = time.perf_counter()
# BENCH_AGAIN=1: the same request once more, in the now warm process (timed alone).
again = {}
if os.environ.get("BENCH_AGAIN") == "1":
    environ["wsgi.input"] = io.BytesIO(body)
    again_at = time.perf_counter()
    result = application(environ, lambda status, headers, exc_info=None: statuses.append(status))
    b"".join(result)
    getattr(result, "close", lambda: None)()
    again = {"again_status": int(statuses[-1].split()[0]), "again_s": time.perf_counter() - again_at}
usage = resource.getrusage(resource.RUSAGE_SELF)
print(
    json.dumps(
        {
            "bench": "first_request",
            "status": int(statuses[0].split()[0]),
            "load_s": request_at - loaded_at,
            "request_s": answered_at - request_at,
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "aws_wait_s": aws_wait[0],
            # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the (big) bench process.
            "maxrss_kib": int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]),
            "body": content[:200].decode("utf-8", "replace"),
            **again,
        }
    ),
    flush=True,
)
