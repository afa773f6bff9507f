"""One POST to a partner on a kept-alive ``http.client`` connection, answered as a ``requests.Response``.

Why not ``requests.Session.post``: in the worker's profile (bench/README.md) half of a partner call's CPU was
requests' per-call machinery - merging the session's settings, cookies and hooks, preparing and re-parsing the URL,
building the response - around urllib3's own work. Why not urllib3's pool either (what this module used until
2026-12-03): per POST it parsed the URL twice, built its pool key, Timeout and response wrapper, and checked a
reused connection with a zero-timeout ``select`` that, under eventlet, is a trip through the hub (an epoll
registration and a switch): 318-340 CPU us per POST against 147-177 for ``http.client`` alone on one connection,
202-245 for this module (``python -m bench.partnerpost``, bench/results/2026-12-03-partnerpost-*.json). The hub
needs none of it for a POST: partners authenticate with headers or signatures, never cookies; proxies from the
environment are off anyway; a redirect is never followed (requests would replay a POST redirected by 301/302 as a
GET), it is refused with its Location (``rest.py``); nothing is retried here (the store drives retries).

What is kept from urllib3: a pool per partner origin (``pool_size``; beyond it a connection is opened for the call
and closed after), TLS verified against the same CA bundle as requests' (certifi), hostname checked; a connect
timeout and a read timeout per socket read; a pooled connection that the partner closed meanwhile is noticed
before it is used (the same check as urllib3's, readable-while-idle means closed) so a POST is never sent on it;
and the three kinds of failure ``rest.py`` maps to the hub's codes. The connectors keep the ``requests.Response``
they read (status_code, headers, content, text, json()).
"""
from __future__ import annotations

import http.client
import ssl
import threading
import zlib
from typing import Union
from urllib.parse import urlsplit

import certifi
import requests
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

try:  # the real select: under eventlet's monkey patching the module's select is green (a switch through the hub)
    from eventlet.patcher import original as _original
    _select = _original("select").select
except ImportError:  # pragma: no cover - eventlet is a dependency of the services, not of this module
    from select import select as _select


class PartnerCallError(Exception):
    """A POST that got no HTTP answer. ``kind``'s subclasses tell rest.py which of the hub's codes it is."""


class PartnerUnreachable(PartnerCallError):
    """No connection: refused, no route, unknown host (the network, not a slow partner)."""


class PartnerTimeout(PartnerCallError):
    """The connection or an answer's read took longer than its timeout."""


class PartnerFailure(PartnerCallError):
    """The connection broke or the answer was not HTTP (reset, closed mid-answer, TLS refused)."""


#: what a POST may raise, checked by rest.py in this order
UNREACHABLE = (PartnerUnreachable,)
TIMEOUTS = (PartnerTimeout,)
FAILURES = (PartnerCallError,)

#: sent unless a connector names its own: urllib3 sent one (python-urllib3/2.x), and some gateways in front of a
#: partner refuse a request without any
USER_AGENT = "lgsp-hub"

Connection = Union[http.client.HTTPConnection, http.client.HTTPSConnection]


def pool_size(concurrency: int) -> int:
    """Connections kept per partner host: the attempts that may run at once, + 2 for a scheduler's poll or a health
    probe beside them (a smaller pool opens and drops a connection per attempt beyond it)."""
    return max(concurrency, 1) + 2


class PartnerPool:
    """The kept-alive connections of one partner connector, ``pool_size`` per origin. Green-safe: the lock is
    held only to take or give back a connection, never across a call."""

    def __init__(self, concurrency: int) -> None:
        self._size = pool_size(concurrency)
        self._idle: dict[tuple[str, str, int], list[Connection]] = {}
        self._lock = threading.Lock()
        self._tls: ssl.SSLContext | None = None

    def post(self, url: str, data: bytes, headers: dict[str, str],
             timeout: tuple[float, float]) -> requests.Response:
        origin, path = self._target(url)
        conn = self._take(origin) or self._open(origin, timeout[0])
        try:
            conn.sock.settimeout(timeout[1])  # type: ignore[union-attr] - connected by _open or when pooled
            conn.request("POST", path, body=data, headers=headers if "User-Agent" in headers else
                         {"User-Agent": USER_AGENT, **headers})
            raw = conn.getresponse()
            body = raw.read()       # the whole answer, read inside the attempt's bound
        except BaseException as exc:  # noqa: BLE001 - a connection in an unknown state never goes back
            conn.close()
            if isinstance(exc, TimeoutError):
                raise PartnerTimeout(f"no answer within {timeout[1]:g} s (ReadTimeout)") from exc
            if isinstance(exc, (OSError, http.client.HTTPException)):
                raise PartnerFailure(f"the connection failed before a whole answer ({type(exc).__name__})") from exc
            raise
        if raw.will_close:
            conn.close()
        else:
            self._give_back(origin, conn)
        return as_response(url, raw, body)

    def close(self) -> None:
        with self._lock:
            pools, self._idle = self._idle, {}
        for conns in pools.values():
            for conn in conns:
                conn.close()

    # --- connections ---------------------------------------------------------------------------
    @staticmethod
    def _target(url: str) -> tuple[tuple[str, str, int], str]:
        parts = urlsplit(url)      # memoised by the standard library (an lru_cache since Python 3.11)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise PartnerUnreachable(f"not an http(s) address: {scheme or '?'}://")
        origin = (scheme, parts.hostname, parts.port or (443 if scheme == "https" else 80))
        return origin, (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def _take(self, origin: tuple[str, str, int]) -> Connection | None:
        while True:
            with self._lock:
                idle = self._idle.get(origin)
                conn = idle.pop() if idle else None
            if conn is None:
                return None
            if not _closed_by_partner(conn):
                return conn
            conn.close()

    def _give_back(self, origin: tuple[str, str, int], conn: Connection) -> None:
        with self._lock:
            idle = self._idle.setdefault(origin, [])
            if len(idle) < self._size:
                idle.append(conn)
                return
        conn.close()     # beyond the pool: a connection for this call only

    def _open(self, origin: tuple[str, str, int], connect_timeout: float) -> Connection:
        scheme, host, port = origin
        conn: Connection
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=connect_timeout, context=self._tls_context())
        else:
            conn = http.client.HTTPConnection(host, port, timeout=connect_timeout)
        try:
            conn.connect()
        except ssl.SSLError as exc:       # an OSError too: a partner refused by TLS is not "unreachable"
            conn.close()
            raise PartnerFailure(f"TLS: {exc.reason or type(exc).__name__}") from exc
        except TimeoutError as exc:
            conn.close()
            raise PartnerTimeout(f"no connection within {connect_timeout:g} s (ConnectTimeout)") from exc
        except OSError as exc:
            conn.close()
            raise PartnerUnreachable(f"cannot connect to {host}:{port} ({type(exc).__name__})") from exc
        return conn

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context(cafile=certifi.where())   # CERT_REQUIRED, hostname checked
        return self._tls


def _closed_by_partner(conn: Connection) -> bool:
    """An idle kept-alive connection with something to read was closed by the partner (or is out of step):
    urllib3's own rule. One real zero-timeout select, no switch through eventlet's hub."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = _select([sock.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def as_response(url: str, raw: http.client.HTTPResponse, body: bytes) -> requests.Response:
    headers: CaseInsensitiveDict = CaseInsensitiveDict()
    for name, value in raw.getheaders():      # a header sent twice reads as one, joined, as urllib3 gave it
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    encoding = headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate") and body:
        # http.client asks for identity; a partner that compresses anyway is read as urllib3 read it
        try:
            body = zlib.decompress(body, 16 + zlib.MAX_WBITS if "gzip" in encoding else zlib.MAX_WBITS)
        except zlib.error as exc:
            raise PartnerFailure(f"the answer says {encoding} but is not") from exc
    response = requests.Response()
    response.status_code = raw.status
    response.reason = raw.reason or ""
    response.headers = headers
    response.encoding = get_encoding_from_headers(response.headers)
    response.url = url
    response._content = body     # noqa: SLF001 - how requests itself holds a read body
    return response

