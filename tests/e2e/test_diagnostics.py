"""`kill -USR2 <pid>` on a running hub writes every green thread's stack to its log (hub/services/diagnostics.py),
so an operator can see where a process that stopped working waits, without stopping it."""
from __future__ import annotations

import signal

from tests.harness import start_hub, wait_until


def test_sigusr2_dumps_green_threads_and_the_hub_keeps_serving(tmp_path) -> None:
    hub = start_hub(tmp_path)
    try:
        hub.proc.send_signal(signal.SIGUSR2)
        assert wait_until(lambda: "green thread dump" in hub.log(), timeout=20), hub.log()[-2000:]
        log = hub.log()
        assert "dispatch" in log or "consume" in log or "drain_events" in log, "the stacks name where threads wait"
        assert hub.get("/healthz").status_code == 200, "the dump does not stop the hub"
    finally:
        assert hub.stop() == 0
