"""The dashboard's plumbing: templates, sessions, CSRF, security headers, the audit trail, and the route table.

Handlers (hub/web/pages.py, hub/web/ops.py) are plain functions ``(ui, request, **kwargs) -> Response`` on
werkzeug objects, testable without nameko. hub/services/gateway.py turns :data:`ROUTES` into nameko ``@http``
entrypoints on the one gateway service (nameko runs one HTTP server per container).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from werkzeug.wrappers import Request, Response

from hub.web import i18n, queries
from hub.web.auth import COOKIE, SESSION_SECONDS, Authenticator, Session, operators_from_config

HERE = Path(__file__).resolve().parent
LANG_COOKIE = "hub_lang"
LOGIN_CSRF_COOKIE = "hub_login_csrf"
# Nothing from elsewhere, no inline script; inline SVG charts are markup, not script.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

Handler = Callable[..., Response]


class WebUI:
    """What every dashboard handler needs: the runtime, the templates, the operators' sessions."""

    def __init__(self, runtime: Any, authenticator: Authenticator | None = None) -> None:
        self.runtime = runtime
        self.store = runtime.store
        self.auth = authenticator or Authenticator(operators_from_config(runtime.config.operators))
        self.templates = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                                     autoescape=select_autoescape(default=True, default_for_string=True),
                                     undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        self.secure_cookies = not runtime.config.settings.sandbox  # production sits behind TLS

    # --- requests ---------------------------------------------------------------------------------
    def session(self, request: Request) -> Session | None:
        return self.auth.read(request.cookies.get(COOKIE))

    def lang(self, request: Request) -> str:
        return i18n.pick(request.cookies.get(LANG_COOKIE))

    def render(self, request: Request, template: str, session: Session | None, status: int = 200,
               **context: Any) -> Response:
        lang = self.lang(request)
        html = self.templates.get_template(template).render(
            t=i18n.translator(lang), lang=lang, session=session, path=request.path,
            csrf=self.auth.csrf_token(session) if session else "", **context)
        return secure(Response(html, status=status, content_type="text/html; charset=utf-8"))

    def redirect(self, location: str, **query: str) -> Response:
        target = location + ("?" + urlencode({k: v for k, v in query.items() if v}) if query else "")
        return secure(Response("", status=303, headers={"Location": target}))

    def set_session(self, response: Response, value: str | None) -> Response:
        if value is None:
            response.delete_cookie(COOKIE, path="/ui", httponly=True, samesite="Strict", secure=self.secure_cookies)
        else:
            response.set_cookie(COOKIE, value, max_age=SESSION_SECONDS, path="/ui", httponly=True,
                                samesite="Strict", secure=self.secure_cookies)
        return response

    def set_login_csrf(self, response: Response, token: str) -> None:
        response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, path="/ui", httponly=True, samesite="Strict",
                            secure=self.secure_cookies)

    def audit(self, session: Session | None, request: Request, action: str, target: str = "",
              detail: str = "", actor: str | None = None) -> None:
        queries.record_audit(self.store, actor or (session.username if session else "-"),
                             session.role if session else "-", action, target, detail, request.remote_addr)


def secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def logged_in(role: str | None = None, post: bool = False) -> Callable[[Handler], Handler]:
    """Guard a page: a session (else the login page), the role if one is needed, the CSRF token on POST."""
    def wrap(handler: Handler) -> Handler:
        def guarded(ui: WebUI, request: Request, **kwargs: Any) -> Response:
            session = ui.session(request)
            if session is None:
                return ui.redirect("/ui/login", next=request.full_path if request.method == "GET" else "/ui")
            if post and not ui.auth.csrf_ok(session, request.form.get("csrf")):
                ui.audit(session, request, "csrf_refused", request.path)
                return ui.render(request, "error.html", session, 403, message_key="bad_csrf")
            if role == "operator" and session.role != "operator":
                ui.audit(session, request, "forbidden", request.path)
                return ui.render(request, "error.html", session, 403, message_key="forbidden")
            return handler(ui, request, session, **kwargs)
        guarded.__name__ = handler.__name__
        guarded.__doc__ = handler.__doc__
        return guarded
    return wrap


def routes() -> list[tuple[str, str, Handler]]:
    """(methods, path, handler) of every web endpoint besides the client API: the dashboard and the ops ones."""
    from hub.web import ops, pages
    return ops.ROUTES + pages.ROUTES
