"""The generic JSON-over-HTTP connector underneath the partner ones (requests).

Errors are translated here, once: network and timeouts, 5xx and 429 are transient; other 4xx and
unreadable answers are permanent. The total time of an attempt is bounded by the dispatcher, not here.
"""
from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from connectors.lean_post import FAILURES, TIMEOUTS, UNREACHABLE, PartnerPool, pool_size
from hub import errors, registry
from hub.contracts import Connector, Delivery, Health, Reply
from hub.errors import PermanentError, TransientError
from hub.signing.evidence import SignedBody

JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds or as an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def partner_session(concurrency: int) -> requests.Session:
    """The session of one partner connector: no proxies from the environment (half the client CPU, no surprises),
    no urllib3 retries (the hub retries), and a pool as large as the attempts that may run at once. A smaller pool
    (it was 64 for every partner) makes each attempt beyond it open a new connection, drop it afterwards and log
    "Connection pool is full" - seen in the slow-partner bench at concurrency 128 (bench/README.md)."""
    session = requests.Session()
    session.trust_env = False
    adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_size(concurrency), max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def raise_for_http_status(connector: str, response: requests.Response, excerpt: bool = True) -> None:
    """The one mapping of HTTP statuses to the hub's errors: 429, 5xx and 408 transient, other 4xx permanent.
    ``excerpt=False`` for partners whose error bodies may carry personal data (the resident database)."""
    status = response.status_code
    if status < 300:
        return
    if status < 400:   # never followed: a POST redirected by 301/302 would be replayed as a GET
        raise PermanentError(errors.DLV_REDIRECTED, f"{connector}: HTTP {status} to "
                                                    f"{response.headers.get('Location', '(no Location)')[:200]}")
    text = " " + response.text[:200].replace("\n", " ") if excerpt else ""
    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    if status == 429:
        raise TransientError(errors.DLV_THROTTLED, f"{connector}: HTTP 429", retry_after=retry_after)
    if status >= 500 or status == 408:
        raise TransientError(errors.DLV_PARTNER_5XX, f"{connector}: HTTP {status}{text}", retry_after=retry_after)
    raise PermanentError(errors.DLV_PARTNER_4XX, f"{connector}: HTTP {status}{text}")


class HttpConnector(Connector):
    """Session handling and error mapping shared by every HTTP partner."""

    config_schema = {"type": "object", "required": ["url"], "additionalProperties": False,
                     "properties": {"url": {"type": "string", "pattern": "^https?://"},
                                    "connect_timeout": {"type": "number", "minimum": 0.1},
                                    "health_path": {"type": "string"}}}

    session: requests.Session | None = None
    pool: PartnerPool | None = None        # POSTs (post_json); the session serves GETs and health probes

    def start(self) -> None:
        self.session = partner_session(self.concurrency)
        self.pool = PartnerPool(self.concurrency)

    def stop(self) -> None:
        if self.session is not None:
            self.session.close()
        if self.pool is not None:
            self.pool.close()

    @property
    def base_url(self) -> str:
        return str(self.options["url"]).rstrip("/")

    def post_json(self, url: str, body: Any, headers: dict[str, str] | None = None,
                  data: bytes | None = None) -> requests.Response:
        if self.pool is None:
            self.start()
        payload = data if data is not None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        # read_timeout: partner connectors whose answers are quick set it below the dispatcher's bound
        timeout = (float(self.options.get("connect_timeout", 3)), float(self.options.get("read_timeout", 60)))
        try:
            response = self.pool.post(url, payload, {**JSON_HEADERS, **(headers or {})}, timeout)  # type: ignore[union-attr]
        except UNREACHABLE as exc:
            raise TransientError(errors.DLV_NETWORK, f"{self.name}: {exc}") from exc
        except TIMEOUTS as exc:
            raise TransientError(errors.DLV_TIMEOUT, f"{self.name}: {exc}") from exc
        except FAILURES as exc:
            raise TransientError(errors.DLV_NETWORK, f"{self.name}: {exc}") from exc
        self.raise_for_status(response)
        return response

    def raise_for_status(self, response: requests.Response) -> None:
        raise_for_http_status(self.name, response)

    @staticmethod
    def json_of(connector: str, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise PermanentError(errors.DLV_BAD_REPLY, f"{connector}: answer is not JSON") from exc

    def check(self) -> Health:
        path = self.options.get("health_path")
        if not path:
            return Health("unknown", "no health path configured")
        started = time.perf_counter()
        try:
            r = (self.session or requests).get(self.base_url + path, timeout=2)
            state = "up" if r.status_code < 500 else "down"
            return Health(state, f"HTTP {r.status_code}", (time.perf_counter() - started) * 1000)
        except requests.RequestException as exc:
            return Health("down", type(exc).__name__)


@registry.connectors.register("rest")
class RestConnector(HttpConnector):
    """POSTs the route's output as JSON to ``url``; the delivery id goes as Idempotency-Key."""
    type_name = "rest"

    def send(self, delivery: Delivery) -> Reply:
        headers = {"Idempotency-Key": delivery.idempotency_key}
        if isinstance(delivery.body, SignedBody):
            # signed bytes go out exactly as signed (a re-serialised body would not match its JWS/XML-DSig)
            body = delivery.body
            response = self.post_json(self.base_url, None, {**headers, "Content-Type": body.content_type,
                                                            **body.headers}, data=body.data)
        else:
            response = self.post_json(self.base_url, delivery.body, headers)
        body = self.json_of(self.name, response) if response.content else None
        return Reply(status=response.status_code, body=body)
