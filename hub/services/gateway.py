"""The gateway service: HTTP entrypoints adapted to hub.gateway.Gateway (routing runs here, one bus hop)."""
from __future__ import annotations

import json
import logging
from typing import Any, Callable

from nameko.web.handlers import http
from werkzeug.wrappers import Request, Response

from hub import errors, ids, metrics
from hub.contracts import InboundRequest
from hub.errors import AuthError, HubError, NotFoundError, RequestError, UnavailableError
from hub.limits import Limits, decode_content
from hub.openapi import openapi_document
from hub.runtime import HubRuntime
from hub.services.deps import Runtime
from hub.services.direct import direct_http
from hub.store import procedures
from hub.web.app import WebUI
from hub.web.app import routes as web_routes

log = logging.getLogger("hub.gateway")


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, headers=headers,
                    content_type="application/json; charset=utf-8")


def problem_response(exc: HubError, instance: str) -> Response:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, UnavailableError) else None
    resp = Response(json.dumps(exc.problem(instance), ensure_ascii=False), status=exc.status, headers=headers)
    resp.headers["Content-Type"] = "application/problem+json"
    return resp


def read_body(request: Request, limits: Limits) -> bytes:
    """Refuse oversized bodies before reading them; never trust Content-Length alone (a lying header or a
    chunked body stops one byte past the limit); a compressed body is inflated in bounded steps."""
    limit = limits.body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise RequestError(errors.REQ_TOO_LARGE, f"The body is larger than {limit} bytes.")
    data = b""
    while len(data) <= limit:          # a stream may hand back less than asked for; read until EOF or too much
        chunk = request.stream.read(limit + 1 - len(data))
        if not chunk:
            break
        data += chunk
    if len(data) > limit:
        raise RequestError(errors.REQ_TOO_LARGE, f"The body is larger than {limit} bytes.")
    return decode_content(data, request.headers.get("Content-Encoding"), limits)


def _json_content(request: Request) -> None:
    if request.mimetype not in ("application/json", ""):
        raise RequestError(errors.REQ_BAD_MEDIA, f"Content-Type {request.mimetype[:64]} is not accepted.")
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise RequestError(errors.REQ_BAD_ENCODING, f"charset {charset[:32]} is not accepted; send UTF-8.")


def answer(request: Request, produce: Callable[[], Response]) -> Response:
    """Every entrypoint answers a problem document: a HubError with its code, anything else as hub.internal
    (logged with its stack; never a stack trace to a client or a browser)."""
    try:
        return produce()
    except HubError as exc:
        return problem_response(exc, request.path)
    except Exception:  # noqa: BLE001
        log.exception("unexpected error on %s %s", request.method, request.path)
        return problem_response(HubError(errors.INTERNAL), request.path)


def guarded(handler):  # noqa: ANN001, ANN201
    """``answer`` for a service method."""
    def wrapper(self, request: Request, **kwargs: Any) -> Response:  # noqa: ANN001
        return answer(request, lambda: handler(self, request, **kwargs))
    wrapper.__name__ = handler.__name__
    return wrapper


def submit(runtime: HubRuntime, limits: Limits, request: Request, call: bool) -> Response:
    """POST /v1/messages and /v1/calls: authenticate, read, validate, route, commit, publish, answer."""
    client = runtime.gateway.authenticate(request.headers.get("Authorization"))
    _json_content(request)
    envelope = runtime.gateway.parse_body_json(read_body(request, limits))
    result = runtime.gateway.submit(client, envelope, call=call)
    return json_response(result.status, result.body)


def make_gateway(runtime: HubRuntime) -> type:
    limit = runtime.config.settings.limits

    class GatewayService:
        name = "gateway"
        hub = Runtime(runtime)

        # The hot path, answered in the web server's green thread by ``respond`` (hub/services/direct.py); the
        # method does the same through the injected runtime, for nameko's test tools (worker_factory).
        @direct_http("POST", "/v1/messages",
                     respond=lambda request: answer(request, lambda: submit(runtime, limit, request, call=False)))
        @guarded
        def post_message(self, request: Request) -> Response:
            return submit(self.hub, limit, request, call=False)

        @http("POST", "/v1/calls")
        @guarded
        def post_call(self, request: Request) -> Response:
            return submit(self.hub, limit, request, call=True)

        @http("GET", "/v1/messages/<string:message_id>")
        @guarded
        def get_message(self, request: Request, message_id: str) -> Response:
            client = self.hub.gateway.authenticate(request.headers.get("Authorization"))
            return json_response(200, self.hub.gateway.view(client, message_id))

        @http("POST,GET", "/v1/inbound/<string:connector>")
        @guarded
        def inbound(self, request: Request, connector: str) -> Response:
            inbound = InboundRequest(method=request.method, path=request.path, headers=dict(request.headers),
                                     query=dict(request.args), body=read_body(request, limit),
                                     remote_addr=request.remote_addr, raw_query=request.query_string)
            result = self.hub.gateway.inbound(self.hub.connectors, connector, inbound)
            return Response(result.body, status=result.status, content_type=result.content_type)

        @http("GET", "/v1/procedures/<string:code>")
        @guarded
        def get_procedure(self, request: Request, code: str) -> Response:
            """The published procedure from the hub's catalogue copy (same rights as the procedure.lookup call)."""
            client = self.hub.gateway.authenticate(request.headers.get("Authorization"))
            if not client.may_send("procedure.lookup"):
                raise AuthError(errors.AUTH_FORBIDDEN_TYPE, f"Client {client.id} may not look up procedures.")
            ids.check(code, ids.PROCEDURE_CODE, "procedure code")
            record = procedures.get(self.hub.store, code)
            if record is None:
                raise NotFoundError(errors.PROC_NOT_FOUND, f"No procedure {code} in the catalogue.")
            return json_response(200, record)

        @http("GET", "/v1/openapi.json")
        @guarded
        def openapi(self, request: Request) -> Response:
            return json_response(200, openapi_document(self.hub.catalog))

    # The dashboard and the ops endpoints (hub/web): plain functions, one @http entrypoint each.
    ui = WebUI(runtime)
    metrics.attach(runtime)
    for methods, path, handler in web_routes():
        setattr(GatewayService, f"web_{handler.__name__}_{methods.lower()}", _web_entrypoint(ui, methods, path, handler))
    return GatewayService


def _web_entrypoint(ui: WebUI, methods: str, path: str, handler):  # noqa: ANN001, ANN202
    def entrypoint(self, request: Request, **kwargs: Any) -> Response:  # noqa: ANN001
        return handler(ui, request, **kwargs)
    entrypoint.__name__ = handler.__name__
    return http(methods, path)(guarded(entrypoint))
