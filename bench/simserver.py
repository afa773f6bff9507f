"""The partner simulators in their own process, so that their CPU is not counted as the hub's.

    python -m bench.simserver --port 18090

The same WSGI app and server the hub's sandbox uses (hub/simhost.py under eventlet.wsgi), loopback only.
"""
from __future__ import annotations

import eventlet

eventlet.monkey_patch()  # the slow fault sleeps: each waiting request must not hold a thread

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import eventlet.wsgi  # noqa: E402

from hub import registry  # noqa: E402
from hub.simhost import simulators_app  # noqa: E402


class _Quiet:
    def write(self, *_args: object) -> None:
        pass


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    registry.load_plugins(("connectors", "transforms", "simulators"))
    app, _ = simulators_app()
    sock = eventlet.listen(("127.0.0.1", args.port), backlog=1024)
    eventlet.wsgi.server(sock, app, log=_Quiet(), max_size=2000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
