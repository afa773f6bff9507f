"""The dashboard's pages (``/ui``): overview, search, a message's timeline, dead letters and replay, audit log."""
from __future__ import annotations

import hmac
import json
import mimetypes
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

from werkzeug.wrappers import Request, Response

from hub import health, metrics
from hub.gateway import message_view
from hub.logging import mask, mask_value
from hub.message import utcnow
from hub.store import dossiers
from hub.web import charts, queries
from hub.web.signatures import signature_results
from hub.web.app import HERE, LANG_COOKIE, LOGIN_CSRF_COOKIE, WebUI, logged_in, secure
from hub.web.auth import Session
from hub.web.i18n import LANGS

STATIC = {"app.css", "app.js"}
REPLAY_LIMIT = 500          # one confirmation never replays more than this
SYNC_LAG_WINDOW = timedelta(days=1)
SYNC_LAG_WARN_MS = 60_000   # BR-VT art. 9.2a asks for real time: a p95 above a minute is worth a look


def _safe_next(target: str | None) -> str:
    """Only a path of the dashboard itself: no open redirect."""
    return target if target and target.startswith("/ui") and not target.startswith("//") else "/ui"


# --- session ---------------------------------------------------------------------------------------
def _login_page(ui: WebUI, request: Request, status: int = 200, failed: bool = False) -> Response:
    token = secrets.token_urlsafe(24)   # double-submit: the form's copy must match the cookie's
    response = ui.render(request, "login.html", None, status, failed=failed, login_csrf=token,
                         next=_safe_next(request.args.get("next") or request.form.get("next")))
    ui.set_login_csrf(response, token)
    return response


def login_form(ui: WebUI, request: Request) -> Response:
    return _login_page(ui, request)


def login(ui: WebUI, request: Request) -> Response:
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie_token or not hmac.compare_digest(request.form.get("login_csrf", ""), cookie_token):
        return _login_page(ui, request, 400)
    username = request.form.get("username", "")[:64]
    op = ui.auth.login(username, request.form.get("password", ""))
    if op is None:
        ui.audit(None, request, "login_failed", actor=username or "-")
        return _login_page(ui, request, 401, failed=True)
    response = ui.redirect(_safe_next(request.form.get("next")))
    ui.set_session(response, ui.auth.issue(op))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/ui")
    queries.record_audit(ui.store, op.username, op.role, "login", "", "", request.remote_addr)
    return response


@logged_in(post=True)
def logout(ui: WebUI, request: Request, session: Session) -> Response:
    ui.audit(session, request, "logout")
    return ui.set_session(ui.redirect("/ui/login"), None)


def language(ui: WebUI, request: Request) -> Response:
    lang = request.args.get("to", "vi")
    response = ui.redirect(_safe_next(request.args.get("back")))
    if lang in LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, path="/ui", samesite="Strict", httponly=True)
    return response


def static(ui: WebUI, request: Request, name: str) -> Response:
    if name not in STATIC:
        return secure(Response("not found", status=404))
    body = (HERE / "static" / name).read_bytes()
    response = Response(body, content_type=mimetypes.guess_type(name)[0] or "application/octet-stream")
    response.headers["Cache-Control"] = "max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- overview --------------------------------------------------------------------------------------
def _minutes(since: datetime, count: int = 60) -> list[str]:
    start = since.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return [(start + timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M") for i in range(count)]


def _certificates(runtime: Any) -> list[Any]:
    keyring = getattr(runtime, "keyring", None)
    if keyring is None:
        return []
    try:
        entries = [e for e in keyring.inventory() if e.days_left is not None]
    except Exception:  # noqa: BLE001 - the overview shows what it can
        return []
    return sorted(entries, key=lambda e: e.days_left)[:20]


def _sync_lag(ui: WebUI) -> list[dict[str, Any]]:
    """Per agency over the last day, as ``run.py stats sync-lag`` computes it, with a bar of its p95."""
    rows = dossiers.lag_by_agency(ui.store, utcnow() - SYNC_LAG_WINDOW)
    top = max([r["p95_ms"] for r in rows] + [SYNC_LAG_WARN_MS])
    colour = {True: "#d62728", False: "#2ca02c"}
    return [{**r, "meter": charts.meter(int(r["p95_ms"]), int(top), colour[r["p95_ms"] > SYNC_LAG_WARN_MS])}
            for r in rows]


@logged_in()
def overview(ui: WebUI, request: Request, session: Session) -> Response:
    flow = queries.per_minute(ui.store)
    minutes = _minutes(flow["since"])
    counts = ui.store.delivery_counts()
    names = sorted(set(counts) | set(ui.runtime.connectors))
    ready = health.readiness(ui.runtime)
    latency = metrics.latency_quantiles()
    queues = [{"name": n, "pending": counts.get(n, {}).get("pending", 0) + counts.get(n, {}).get("in_flight", 0),
               "retry": counts.get(n, {}).get("retry_wait", 0), "dead": counts.get(n, {}).get("dead", 0),
               "delivered": counts.get(n, {}).get("delivered", 0),
               "health": ready["connectors"].get(n, {"state": "unknown", "latency_ms": None}),
               "latency": latency.get(n)} for n in names]
    top = max([q["pending"] + q["retry"] + q["dead"] for q in queues] + [1])
    for q in queues:
        q["meter"] = charts.meter(q["dead"], top)
    return ui.render(request, "overview.html", session, ready=ready, queues=queues,
                     types_chart=charts.stacked_bars(flow["by_type"], minutes, title="messages"),
                     states_chart=charts.stacked_bars(flow["by_state"], minutes, colours=charts.STATE_COLOURS,
                                                      title="deliveries"),
                     dead_groups=queries.dead_letter_groups(ui.store)[:10], certificates=_certificates(ui.runtime),
                     sync_lag=_sync_lag(ui), sync_lag_warn_ms=SYNC_LAG_WARN_MS)


# --- search and a message --------------------------------------------------------------------------
def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone(timedelta(hours=7)))  # staff think in ICT


def _filter(args: Any) -> queries.SearchFilter:
    state = args.get("state", "")
    return queries.SearchFilter(message_id=args.get("id", "").strip()[:128],
                                subject=args.get("subject", "").strip()[:128],
                                agency=args.get("agency", "").strip()[:13], type=args.get("type", "")[:64],
                                source=args.get("source", "")[:64], connector=args.get("connector", "")[:40],
                                state=state if state in queries.STATES else "",
                                since=_when(args.get("since")), until=_when(args.get("until")))


@logged_in()
def search(ui: WebUI, request: Request, session: Session) -> Response:
    f = _filter(request.args)
    # a subject is usually a dossier code, but a client may have put a personal id there: shown masked, like the
    # search terms echoed in the form (the audit log keeps them masked too)
    results = [{**r, "subject": mask(r["subject"]) if r.get("subject") else r.get("subject")}
               for r in ([] if f.empty() else queries.search(ui.store, f))]
    if not f.empty():
        ui.audit(session, request, "search", detail=json.dumps({k: str(v) for k, v in vars(f).items() if v},
                                                               ensure_ascii=False)[:1000])
    args = {key: mask(value) for key, value in request.args.items()}
    return ui.render(request, "search.html", session, f=f, args=args, results=results, searched=not f.empty(),
                     types=sorted(ui.runtime.catalog.types()) if hasattr(ui.runtime.catalog, "types") else [],
                     connectors=sorted(ui.runtime.connectors), states=queries.STATES)


def _timeline(hops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each hop with the time since the previous hop of the same delivery (or of the message)."""
    last: dict[Any, datetime] = {}
    rows = []
    for hop in hops:
        at = datetime.fromisoformat(hop["at"]) if isinstance(hop["at"], str) else hop["at"]
        before = last.get(hop["delivery"]) or last.get(None)
        gap = (at - before).total_seconds() * 1000 if before else None
        last[hop["delivery"]] = at
        if hop["delivery"] is None:
            last[None] = at
        rows.append({**hop, "gap_ms": gap, "masked_detail": mask_value(hop["detail"] or "")})
    return rows


@logged_in()
def message(ui: WebUI, request: Request, session: Session) -> Response:
    message_id = request.args.get("id", "")[:128]
    record = ui.store.message(message_id) if message_id else None
    if record is None:
        return ui.render(request, "error.html", session, 404, message_key="not_found")
    ui.audit(session, request, "view", message_id)
    view = message_view(record)
    payload = json.loads(record["message"]["envelope"]).get("payload")
    for d in view["deliveries"]:
        d["last_error"] = mask_value(d["last_error"] or "")
    related = queries.related(ui.store, view["subject"], view["id"])
    view["subject"] = mask(view["subject"]) if view["subject"] else view["subject"]
    return ui.render(request, "message.html", session, m=view, hops=_timeline(view["hops"]),
                     signatures=signature_results(ui.store, message_id, view["hops"]),
                     payload=json.dumps(mask_value(payload), ensure_ascii=False, indent=2), related=related)


# --- dead letters ----------------------------------------------------------------------------------
@logged_in()
def dead_letters(ui: WebUI, request: Request, session: Session) -> Response:
    connector, code, route = (request.args.get(k, "")[:80] for k in ("connector", "code", "route"))
    rows = queries.dead_letters_matching(ui.store, connector, code, route, limit=200)
    return ui.render(request, "dead_letters.html", session, groups=queries.dead_letter_groups(ui.store), rows=rows,
                     connector=connector, code=code, route=route, done=request.args.get("done", ""))


@logged_in(role="operator", post=True)
def replay(ui: WebUI, request: Request, session: Session) -> Response:
    """First POST shows what would be replayed; the second (confirm=yes) replays it and records who did."""
    form = request.form
    if form.get("mode") == "filter":
        rows = queries.dead_letters_matching(ui.store, form.get("connector", ""), form.get("code", ""),
                                             form.get("route", ""), limit=REPLAY_LIMIT)
        ids = [r["delivery_id"] for r in rows]
    else:
        ids = form.getlist("delivery")[:REPLAY_LIMIT]
    if not ids:
        return ui.redirect("/ui/dead-letters", done="none")
    if form.get("confirm") != "yes":
        return ui.render(request, "confirm.html", session, ids=ids)
    done = ui.store.replay(ids, actor=f"ui:{session.username}")
    what = (f"filter connector={form.get('connector', '')} code={form.get('code', '')} route={form.get('route', '')}"
            if form.get("mode") == "filter" else "selection")
    ui.audit(session, request, "replay", ", ".join(r.id for r in done)[:300], f"{len(done)} by {what}")
    return ui.redirect("/ui/dead-letters", done=str(len(done)))


@logged_in()
def audit(ui: WebUI, request: Request, session: Session) -> Response:
    entries = queries.audit_entries(ui.store, request.args.get("actor", "")[:64], request.args.get("action", "")[:32])
    return ui.render(request, "audit.html", session, entries=entries, now=utcnow())


ROUTES = [
    ("GET", "/ui", overview),
    ("GET", "/ui/login", login_form),
    ("POST", "/ui/login", login),
    ("POST", "/ui/logout", logout),
    ("GET", "/ui/lang", language),
    ("GET", "/ui/static/<string:name>", static),
    ("GET", "/ui/search", search),
    ("GET", "/ui/message", message),
    ("GET", "/ui/dead-letters", dead_letters),
    ("POST", "/ui/dead-letters/replay", replay),
    ("GET", "/ui/audit", audit),
]
