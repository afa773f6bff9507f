"""A WSGI app of the web routes without nameko, for tests and for tools (nameko's entrypoint_hook in spirit)."""
from __future__ import annotations

from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from hub.web.app import WebUI, routes


def wsgi_app(ui: WebUI) -> Any:
    rules = Map([Rule(path, methods=methods.split(","), endpoint=handler) for methods, path, handler in routes()])

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            handler, kwargs = rules.bind_to_environ(environ).match()
            response: Response = handler(ui, request, **kwargs)
        except HTTPException as exc:
            response = exc.get_response()
        return response(environ, start_response)
    return app
