"""Time spent inside moto's in-process emulator, so figures can leave it out.

moto stands in for DynamoDB and KMS. What it costs is not what AWS costs, and
it is not even constant: its TransactWriteItems deep-copies every item of the
region's tables on each call, so a call gets slower as the bench makes tokens.
Paths that make the same AWS calls pay AWS the same latency; what differs
between them is the work on our side: the process's CPU time less the CPU
time spent inside the emulator. CPU time, not wall time, because this machine
is shared: other processes stretch wall time but not this process's CPU time.
"""

from __future__ import annotations

import time
from typing import Any

_spent = 0.0
_installed = False


def install() -> None:
    """Count the CPU time every request spends in moto's stubber (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.core.botocore_stubber import BotocoreStubber

    inner = BotocoreStubber.__call__

    def timed(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        global _spent
        started = time.process_time()
        try:
            return inner(self, event_name, request, **kwargs)
        finally:
            _spent += time.process_time() - started

    BotocoreStubber.__call__ = timed  # type: ignore[method-assign]
    _installed = True


def cpu_seconds() -> float:
    """CPU seconds this process has spent inside the emulator (moto runs in-process)."""
    return _spent
