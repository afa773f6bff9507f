"""What the payment intermediaries' simulators share: orders, a "pay" control, signed IPNs, transaction lists.

Control endpoints (names start with "_", so injected faults never hit them):

* ``POST /_config``  ``{"ipn_url": ..., "mode": "normal" | "wrong_checksum" | "duplicate"}``: where IPNs go
  (the merchant's callback URL, as registered with the intermediary) and how they misbehave;
* ``POST /_pay``     ``{"reference", "result": "success" | "failed", "hold": false, "forge": false, "duplicates": 1}``:
  the payer pays; the signed IPN is sent now (the hub's answers are returned) or held for ``/_flush``;
  ``forge`` sends an IPN signed with a wrong secret and records no transaction (someone else's forgery);
* ``POST /_flush``   ``{"order": "reverse" | "fifo"}``: send the held IPNs (out of order when reversed);
* ``POST /_plant``   ``{"reference", "amount", "paid": true}``: a transaction the hub never heard of, for reconciliation tests;
* ``GET /_orders``, ``GET /_ipns``: what the simulator holds and every IPN it sent with the hub's answer.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
from werkzeug.wrappers import Request, Response

from simulators.base import SimulatorApp, json_response

VIETNAM = timezone(timedelta(hours=7))


@dataclass
class Txn:
    reference: str
    amount: int
    paid: bool
    transaction_id: str
    at: datetime


@dataclass(eq=False)   # each IPN is itself: identity, not field equality
class Ipn:
    method: str                    # GET (query) or POST (JSON body)
    query: str = ""
    body: bytes = b""
    sent: list[dict[str, Any]] = field(default_factory=list)


class PaymentSimulator(SimulatorApp):
    #: sandbox secret (same env var and default as the connector's config)
    secret_env = ""
    secret_default = ""
    prefix = "TX"

    def __init__(self, options: dict | None = None) -> None:
        super().__init__(options)
        self.secret = os.environ.get(self.secret_env, self.secret_default)
        self.lock = threading.Lock()
        self.orders: dict[str, dict[str, Any]] = {}
        self.txns: list[Txn] = []
        self.held: list[Ipn] = []
        self.ipns: list[Ipn] = []
        self.ipn_url: str | None = self.options.get("ipn_url")
        self.mode = "normal"
        self.counter = 0
        self.http = requests.Session()
        self.http.trust_env = False
        self.route("POST", "/_config", self._config)
        self.route("POST", "/_pay", self._pay)
        self.route("POST", "/_flush", self._flush)
        self.route("POST", "/_plant", self._plant)
        self.route("GET", "/_orders", lambda r: json_response(self.orders))
        self.route("GET", "/_ipns", lambda r: json_response([{"method": i.method, "sent": i.sent} for i in self.ipns]))

    # --- what subclasses provide ------------------------------------------------------------------
    def build_ipn(self, order: dict[str, Any], txn: Txn, secret: str) -> Ipn:
        raise NotImplementedError

    def ipn_target(self, order: dict[str, Any]) -> str | None:
        return self.ipn_url

    # --- shared behaviour ---------------------------------------------------------------------------
    def next_id(self) -> str:
        with self.lock:
            self.counter += 1
            return f"{self.prefix}{self.counter:010d}"

    def remember(self, reference: str, order: dict[str, Any]) -> None:
        with self.lock:
            self.orders[reference] = order

    def day_transactions(self, day: str) -> list[Txn]:
        """Transactions of one Vietnamese calendar day (YYYY-MM-DD)."""
        with self.lock:
            return [t for t in self.txns if t.at.astimezone(VIETNAM).strftime("%Y-%m-%d") == day]

    def _config(self, request: Request) -> Response:
        spec = request.get_json(force=True) or {}
        with self.lock:
            self.ipn_url = spec.get("ipn_url", self.ipn_url)
            self.mode = spec.get("mode", self.mode)
        return json_response({"ipn_url": self.ipn_url, "mode": self.mode})

    def _pay(self, request: Request) -> Response:
        spec = request.get_json(force=True) or {}
        order = self.orders.get(str(spec.get("reference")))
        if order is None:
            return json_response({"error": "no such order"}, 404)
        paid = spec.get("result", "success") == "success"
        txn = Txn(order["reference"], int(order["amount"]), paid, self.next_id(), datetime.now(VIETNAM))
        if not spec.get("forge"):    # a forger's IPN is no transaction; a misconfigured partner's still is
            with self.lock:
                self.txns.append(txn)
        forged = bool(spec.get("forge")) or self.mode == "wrong_checksum"
        ipn = self.build_ipn(order, txn, self.secret + "-forged" if forged else self.secret)
        copies = int(spec.get("duplicates", 2 if self.mode == "duplicate" else 1))
        if spec.get("hold"):
            with self.lock:
                self.held.extend([ipn] * copies)
            return json_response({"transaction_id": txn.transaction_id, "held": copies})
        replies = [self._send(ipn, order) for _ in range(copies)]
        return json_response({"transaction_id": txn.transaction_id, "replies": replies})

    def _flush(self, request: Request) -> Response:
        spec = request.get_json(force=True, silent=True) or {}
        with self.lock:
            batch, self.held = self.held, []
        if spec.get("order") == "reverse":
            batch.reverse()
        return json_response({"replies": [self._send(ipn, None) for ipn in batch]})

    def _plant(self, request: Request) -> Response:
        spec = request.get_json(force=True) or {}
        txn = Txn(str(spec["reference"]), int(spec["amount"]), bool(spec.get("paid", True)), self.next_id(),
                  datetime.now(VIETNAM))
        with self.lock:
            self.txns.append(txn)
        return json_response({"transaction_id": txn.transaction_id})

    def _send(self, ipn: Ipn, order: dict[str, Any] | None) -> dict[str, Any]:
        target = self.ipn_target(order or {})
        if not target:
            return {"status": None, "error": "no ipn_url configured (POST /_config)"}
        try:
            if ipn.method == "GET":
                r = self.http.get(f"{target}?{ipn.query}", timeout=15)
            else:
                r = self.http.post(target, data=ipn.body, headers={"Content-Type": "application/json"}, timeout=15)
            reply = {"status": r.status_code, "body": r.text}
        except requests.RequestException as exc:
            reply = {"status": None, "error": type(exc).__name__}
        with self.lock:
            ipn.sent.append(reply)
            if ipn not in self.ipns:
                self.ipns.append(ipn)
        return reply
