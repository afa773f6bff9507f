"""One POST to a partner straight through urllib3's connection pool, answered as a ``requests.Response``.

Why not ``requests.Session.post``: in the worker's profile (bench/README.md) half of a partner call's CPU was
requests' per-call machinery - merging the session's settings, cookies and hooks, preparing and re-parsing the URL,
building the response - around urllib3's own work. The hub needs none of it for a POST: partners authenticate with
headers or signatures, never cookies; proxies from the environment are off anyway; and a redirect is never followed
(requests would replay a POST redirected by 301/302 as a GET), it is refused with its Location (``rest.py``).
The connectors keep the ``requests.Response`` they read (status_code, headers, content, text, json()).
"""
from __future__ import annotations

import certifi
import requests
import urllib3
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

#: what a POST may raise: urllib3's errors (retries=False re-raises the cause: refused, timeout, reset, TLS).
#: Checked in this order: urllib3 keeps NewConnectionError (refused, no route, unknown host) a subclass of
#: ConnectTimeoutError for old callers, but for the hub a refused connection is the network, not a slow partner.
UNREACHABLE = (urllib3.exceptions.NewConnectionError,)
TIMEOUTS = (urllib3.exceptions.TimeoutError,)
FAILURES = (urllib3.exceptions.HTTPError,)


def pool_size(concurrency: int) -> int:
    """Connections kept per partner host: the attempts that may run at once, + 2 for a scheduler's poll or a health
    probe beside them (a smaller pool opens and drops a connection per attempt beyond it)."""
    return max(concurrency, 1) + 2


class PartnerPool:
    """The connection pool of one partner connector (``pool_size``). TLS is verified against the same CA bundle as
    requests'."""

    def __init__(self, concurrency: int) -> None:
        self._manager = urllib3.PoolManager(num_pools=4, maxsize=pool_size(concurrency), block=False,
                                            retries=False, cert_reqs="CERT_REQUIRED", ca_certs=certifi.where())

    def post(self, url: str, data: bytes, headers: dict[str, str],
             timeout: tuple[float, float]) -> requests.Response:
        raw = self._manager.urlopen("POST", url, body=data, headers=headers, redirect=False, retries=False,
                                    timeout=urllib3.Timeout(connect=timeout[0], read=timeout[1]),
                                    preload_content=True)    # the whole answer, read inside the attempt's bound
        return as_response(url, raw)

    def close(self) -> None:
        self._manager.clear()


def as_response(url: str, raw: urllib3.BaseHTTPResponse) -> requests.Response:
    response = requests.Response()
    response.status_code = raw.status
    response.reason = raw.reason or ""
    response.headers = CaseInsensitiveDict(raw.headers)
    response.encoding = get_encoding_from_headers(response.headers)
    response.url = url
    response._content = raw.data     # noqa: SLF001 - how requests itself holds a read body
    return response
