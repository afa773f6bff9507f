"""POST /v1/messages is answered in the web server's own green thread (hub/services/direct.py): no nameko worker per
request, at most ``limit`` at once, and a stopping container waits for the requests in progress - those waiting for
a slot included - before the runtime behind them closes."""
from __future__ import annotations

import eventlet
from eventlet.green.urllib import request as green_request
from nameko.containers import ServiceContainer
from nameko.web.server import WebServer
from werkzeug.wrappers import Response

from hub.services.direct import direct_http
from tests.conftest import free_port


def _post(url: str) -> int:
    with green_request.urlopen(green_request.Request(url, data=b"{}", method="POST"), timeout=10) as answer:
        return answer.status


def test_answered_in_place_bounded_and_drained_on_stop() -> None:
    started: list[str] = []
    release = eventlet.event.Event()

    def respond(request) -> Response:  # noqa: ANN001
        started.append(request.path)
        release.wait()
        return Response("accepted", status=202)

    class Service:
        name = "direct_test"

        @direct_http("POST", "/x", respond=respond, limit=2)
        def x(self, request):  # noqa: ANN001, ANN201
            raise AssertionError("a nameko worker ran the request")

    port = free_port()
    container = ServiceContainer(Service, {"WEB_SERVER_ADDRESS": f"127.0.0.1:{port}", "AMQP_URI": "memory://"})
    container.start()
    try:
        assert any(isinstance(e, WebServer) for e in container.subextensions)
        clients = [eventlet.spawn(_post, f"http://127.0.0.1:{port}/x") for _ in range(3)]
        eventlet.sleep(0.3)
        assert len(started) == 2, "two slots: the third request waits"
        assert container._worker_threads == {}, "no nameko worker per request"   # noqa: SLF001
        stopper = eventlet.spawn(container.stop)
        eventlet.sleep(0.3)
        assert not stopper.dead, "stop waits for the requests in progress"
        release.send()
        assert [c.wait() for c in clients] == [202, 202, 202], "the one waiting for a slot is answered too"
        stopper.wait()
    finally:
        if not release.ready():
            release.send()
        container.kill()
