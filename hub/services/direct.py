"""An HTTP entrypoint answered in the web server's own green thread: the client API's hot path without a nameko
worker per request.

nameko's ``@http`` hands every request to a new worker green thread (worker context, dependency injection, an Event
to carry the answer back) while the server's green thread waits for it. In the gateway's profile that hand-over,
with nameko's routing, was about a tenth of the gateway's CPU at saturation (bench/README.md), for an endpoint whose
only dependency is the process's one HubRuntime. ``direct_http`` keeps nameko's web server, routing table and
life cycle, and answers in place:

* at most ``limit`` requests at once, as nameko's ``max_workers`` bounded them (the rest wait for a slot);
* on stop it waits (up to ``DRAIN_SECONDS``) for the requests in progress, as nameko waits for its workers, so a
  client is answered (202 after commit and publish) before the runtime's store and bus close.
"""
from __future__ import annotations

import time
from typing import Any, Callable

import eventlet
from eventlet.semaphore import Semaphore
from nameko.web.handlers import HttpRequestHandler
from werkzeug.wrappers import Request, Response

#: the longest a stopping gateway waits for the requests it is answering (nameko waits for workers unbounded)
DRAIN_SECONDS = 30.0


class DirectHttp(HttpRequestHandler):
    def __init__(self, method: str, url: str, respond: Callable[[Request], Response], limit: int = 256,
                 **kwargs: Any) -> None:
        super().__init__(method, url, **kwargs)
        self._respond = respond
        self._slots = Semaphore(limit)
        self._in_flight = 0

    def handle_request(self, request: Request) -> Response:
        request.shallow = False      # as nameko's own: the body may be read
        self._in_flight += 1         # counted while it waits for a slot too: stop() drains those as well
        try:
            with self._slots:
                return self._respond(request)
        finally:
            self._in_flight -= 1

    def stop(self) -> None:
        deadline = time.monotonic() + DRAIN_SECONDS
        while self._in_flight and time.monotonic() < deadline:
            eventlet.sleep(0.01)
        super().stop()


direct_http = DirectHttp.decorator
