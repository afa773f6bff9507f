"""DVCQG, the national public service portal, and CSDL TTHC through it (partners.md §1–2).

Outbound: ``dossier.sync`` (DongBoHoSoMC; ``isUpdating`` from what the hub knows, the other way once when the
portal refuses the guess), ``dossier.progress``
(CapNhatTienDoHoSoMC), ``dossier.evaluation`` (DongBoDanhGia), ``payment.completed`` (the portal's copy of the
dossier, read with TraCuuHoSo, with the fee and payment fields laid over it, sent back as a DongBoHoSoMC update:
partners.md has no payment-status service, docs/dvcqg.md); concurrent sends are joined into batches
(connectors/dvcqg_batch.py). Calls: ``procedure.lookup`` answered from the hub's catalogue copy. Poll: the
portal's queue of online submissions -> ``dossier.submitted`` for the owning agency, and the catalogue sync
when it is due.

Session: one login, reused by every call until ``session_ttl`` passes or the portal answers ``invalid session``
(then one new login, shared by all callers, and the call is made once more). Freshness: a ``dossier.sync`` made
earlier than the state the portal already acknowledged (hub/store/dossiers.py) is not sent; the delivery ends
*delivered* with status 208 and partner_ref ``skipped: ...`` in its trace (docs/dvcqg.md).
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

from prometheus_client import Histogram

from connectors.dvcqg_batch import Batcher, Work, segments
from connectors.rest import HttpConnector
from hub import errors, registry
from hub.contracts import Delivery, Health, InboundMessage, Reply
from hub.errors import DeliveryError, PermanentError, TransientError
from hub.message import utcnow
from hub.metrics import REGISTRY
from transforms.dvcqg import procedure_from_dvcqg, submitted_from_dvcqg

log = logging.getLogger("hub.dvcqg")
SYNC_LAG = Histogram("hub_dossier_sync_lag_seconds", "Time from the hub accepting a dossier status to the national "
                     "portal acknowledging it, by agency", ["agency"], registry=REGISTRY,
                     buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900))

#: the portal's error codes ([I], see simulators/dvcqg.py) -> (hub code, transient)
ANSWERS: dict[str, tuple[str, bool]] = {
    "-1": (errors.DVCQG_SESSION, True), "2": (errors.DVCQG_LOGIN, False), "3": (errors.DVCQG_ROUTING, False),
    "4": (errors.DVCQG_SERVICE, False), "5": (errors.DVCQG_INVALID, False), "6": (errors.DVCQG_EXISTS, False),
    "7": (errors.DVCQG_NOT_FOUND, False), "8": (errors.DVCQG_TRANSITION, False),
    "9": (errors.DVCQG_PROCEDURE_NOT_FOUND, False), "99": (errors.DVCQG_BUSY, True)}
SERVICES = {"dossier": "DongBoHoSoMC", "step": "CapNhatTienDoHoSoMC", "evaluation": "DongBoDanhGia"}
#: dossiers a connector remembers as on the portal (about 100 bytes each)
KNOWN_LIMIT = 100_000
KINDS = {"dossier.sync": "dossier", "dossier.progress": "step", "dossier.evaluation": "evaluation",
         "payment.completed": "payment"}


def success(code: Any) -> bool:
    """Both ``0`` and ``"00"`` (and ``"0"``) mean success."""
    return str(code).strip() != "" and set(str(code).strip()) == {"0"}


def answer_error(code: Any, message: Any, service: str) -> DeliveryError:
    text = str(code).strip()
    key = text if text.startswith("-") else (text.lstrip("0") or "0")   # "05" and 5 are the same code
    hub_code, transient = ANSWERS.get(key, (errors.DVCQG_UNKNOWN, False))
    detail = f"{service}: error_code {code}: {str(message or '')[:200]}"
    return TransientError(hub_code, detail) if transient else PermanentError(hub_code, detail)


def status_time(delivery: Delivery) -> datetime:
    """When the one-stop system made this state: its ``updated_at`` header, else when the hub accepted it."""
    header = (delivery.message.headers or {}).get("updated_at")
    if header:
        try:
            moment = datetime.fromisoformat(header)
            if moment.tzinfo is not None:
                return moment
        except ValueError:
            pass
    return delivery.message.created_at


@registry.connectors.register("dvcqg")
class DvcqgConnector(HttpConnector):
    type_name = "dvcqg"
    capabilities = frozenset({"send", "call", "poll"})
    config_schema = {
        "type": "object", "required": ["url", "username", "password", "dstcode", "madonvi"], "additionalProperties": False,
        "properties": {
            "url": {"type": "string", "pattern": "^https?://"},
            "login_path": {"type": "string"}, "api_path": {"type": "string"},
            "username": {"type": "string", "minLength": 1}, "password": {"type": "string", "minLength": 1},
            "dstcode": {"type": "string", "minLength": 1}, "madonvi": {"type": "string", "minLength": 1},
            "session_ttl": {"type": "number", "minimum": 1},
            "batch_max_size": {"type": "integer", "minimum": 1, "maximum": 500},
            "batch_max_wait": {"type": "number", "minimum": 0, "maximum": 5},
            "poll_interval": {"type": "number", "minimum": 0}, "poll_limit": {"type": "integer", "minimum": 1},
            "catalogue_sync_interval": {"type": "number", "minimum": 0},
            "agency_owners": {"type": "object", "additionalProperties": {"type": "string"}},
            "batch_parallel": {"type": "integer", "minimum": 1, "maximum": 64},
            "connect_timeout": {"type": "number", "minimum": 0.1}, "read_timeout": {"type": "number", "minimum": 0.1},
            "health_path": {"type": "string"}}}

    def start(self) -> None:
        super().start()
        self._session: str | None = None
        self._session_until = 0.0
        self._session_lock = threading.Lock()
        self.logins = 0
        # dossiers the portal acknowledged: synced as updates. Bounded (oldest forgotten first): a forgotten one is
        # found again in the store's states, or costs one refused call; a province's years of codes never pile up
        self._known: dict[str, None] = {}
        self._next_poll = 0.0
        self._next_catalogue = 0.0
        self.batcher = Batcher(self._flush, int(self.options.get("batch_max_size", 50)),
                               float(self.options.get("batch_max_wait", 0.02)),
                               int(self.options.get("batch_parallel", 4)))

    @property
    def store(self) -> Any:
        return getattr(self.context, "store", None)

    # --- session and calls -----------------------------------------------------------------------
    def _login(self, stale: str | None) -> str:
        with self._session_lock:
            if self._session and self._session != stale and time.monotonic() < self._session_until:
                return self._session  # another caller already renewed it
            response = self.post_json(self.base_url + self.options.get("login_path", "/login"),
                                      {"username": self.options["username"], "password": self.options["password"]})
            body = self.json_of(self.name, response)
            if not isinstance(body, dict) or not success(body.get("error_code")) or not body.get("session"):
                raise answer_error(body.get("error_code") if isinstance(body, dict) else "?",
                                   body.get("message") if isinstance(body, dict) else "", "login")
            self.logins += 1
            self._session = str(body["session"])
            self._session_until = time.monotonic() + float(self.options.get("session_ttl", 1200))
            return self._session

    def portal_session(self) -> str:
        if self._session and time.monotonic() < self._session_until:
            return self._session
        return self._login(None)

    def call(self, service: str, **fields: Any) -> dict[str, Any]:
        """One service call; an ``invalid session`` answer renews the session once and repeats the call."""
        token = self.portal_session()
        for attempt in (1, 2):
            body = {"session": token, "madonvi": self.options["madonvi"], "service": service, **fields}
            response = self.post_json(self.base_url + self.options.get("api_path", "/api"), body,
                                      {"dstcode": self.options["dstcode"]})
            answer = self.json_of(self.name, response)
            if not isinstance(answer, dict) or "error_code" not in answer:
                raise PermanentError(errors.DLV_BAD_REPLY, f"{service}: answer without error_code")
            if success(answer.get("error_code")):
                return answer
            error = answer_error(answer.get("error_code"), answer.get("message"), service)
            if error.code == errors.DVCQG_SESSION and attempt == 1:
                token = self._login(token)
                continue
            raise error
        raise AssertionError("unreachable")

    # --- outbound --------------------------------------------------------------------------------
    def send(self, delivery: Delivery) -> Reply:
        mtype = delivery.message.type
        if mtype == "procedure.lookup":
            return self._lookup(delivery)
        kind = KINDS.get(mtype)
        if kind is None:
            raise PermanentError(errors.DLV_PARTNER_4XX, f"{self.name} does not carry {mtype}")
        item = delivery.body
        return self.batcher.submit(Work(kind, str(item.get("MaHoSo", "")), item, delivery))

    def _skip_stale(self, works: list[Work]) -> None:
        """Freshness of a batch's dossier syncs, one look at the store for all of them: a sync the portal already
        acknowledged, or older than the state it acknowledged, ends here as 208 ``skipped``. A dossier with a known
        state is on the portal: it is synced as an update."""
        if not works or self.store is None:
            return
        from hub.store import dossiers
        try:
            states = dossiers.latest_of(self.store, {w.dossier_code for w in works})
        except errors.HubError as exc:   # the store is away: these syncs are tried again, none sent unchecked
            for w in works:
                w.fail(TransientError(exc.code, f"freshness of {w.dossier_code} not known: {exc.detail}"))
            return
        for w in works:
            latest = states.get(w.dossier_code)
            if latest is None:
                continue
            self._remember(w.dossier_code)
            delivery: Delivery = w.context
            if latest.message_id == delivery.message.id:
                w.succeed(Reply(status=208, partner_ref="skipped: already acknowledged by the portal"))
            elif status_time(delivery) < latest.status_at:
                w.succeed(Reply(status=208, partner_ref=f"skipped: older than the portal's state (status "
                                                        f"{latest.status} of {latest.status_at.isoformat()})"))
            else:
                continue
            w.extra["skipped"] = True

    def _flush(self, batch: list[Work]) -> None:
        self._skip_stale([w for w in batch if w.kind == "dossier"])
        acked: list[Work] = []
        for segment in segments(batch):
            for kind in ("dossier", "step", "evaluation", "payment"):
                works = [w for w in segment if w.kind == kind and not w.done]
                if not works:
                    continue
                try:
                    if kind == "dossier":
                        self._sync_dossiers(works)
                    elif kind == "payment":
                        self._pay_dossiers(works)
                    else:
                        self._send_items(SERVICES[kind], works)
                except DeliveryError as exc:
                    for w in works:
                        w.fail(exc)
            acked += [w for w in segment if w.kind == "dossier" and w.done and w.error is None
                      and not w.extra.get("skipped")]
        self._record(acked)

    def _remember(self, code: str) -> None:
        self._known[code] = None
        if len(self._known) > KNOWN_LIMIT:
            del self._known[next(iter(self._known))]

    def _sync_dossiers(self, works: list[Work]) -> None:
        """One DongBoHoSoMC for the dossiers known to be on the portal (acknowledged here, or a state in the store:
        ``isUpdating`` "True"), one for the others ("False"), with no look-up first: a guess the portal refuses
        ("exists" or "not found") is sent once more the other way in this flush. Asking TraCuuHoSo first cost one
        call per new dossier, one after the other inside the batch (docs/dvcqg.md)."""
        new = [w for w in works if w.dossier_code not in self._known]
        existing = [w for w in works if w.dossier_code in self._known]
        retry_new, retry_existing = [], []
        for group, updating in ((new, "False"), (existing, "True")):
            for w, code in self._send_items("DongBoHoSoMC", group, isUpdating=updating, settle=False):
                # a guess the portal refused (a dossier synced by another system, or a lost answer): the other way
                if code == errors.DVCQG_EXISTS:
                    retry_existing.append(w)
                elif code == errors.DVCQG_NOT_FOUND:
                    retry_new.append(w)
        for group, updating in ((retry_new, "False"), (retry_existing, "True")):
            self._send_items("DongBoHoSoMC", group, isUpdating=updating)
        for w in works:
            if w.done and w.error is None:
                self._remember(w.dossier_code)

    def _pay_dossiers(self, works: list[Work]) -> None:
        """Each payment laid over the portal's current copy of its dossier (the portal replaces a dossier whole
        on update), then one DongBoHoSoMC update for all. A dossier the portal does not have yet waits (transient):
        its first sync may still be on the way."""
        ready = []
        for w in works:
            try:
                found = self.call("TraCuuHoSo", mahoso=w.dossier_code).get("result") or []
            except DeliveryError as exc:
                w.fail(exc)
                continue
            current = found[0] if found and isinstance(found[0], dict) else None
            if current is None:
                w.fail(TransientError(errors.DVCQG_PAYMENT_EARLY, f"{w.dossier_code} is not on the portal yet"))
                continue
            if all(current.get(k) == v for k, v in w.item.items()):
                # a retry after an answer that was lost: the portal shows this payment already, once is enough
                w.succeed(Reply(status=208, partner_ref="skipped: the portal already shows this payment"))
                continue
            self._remember(w.dossier_code)
            ready.append(Work(w.kind, w.dossier_code, {**current, **w.item}, w.context))
            ready[-1].extra["origin"] = w
        self._send_items("DongBoHoSoMC", ready, isUpdating="True")
        for merged in ready:
            origin: Work = merged.extra["origin"]
            if merged.error is not None:
                origin.fail(merged.error)
            else:
                origin.succeed(merged.result)

    def _send_items(self, service: str, works: list[Work], settle: bool = True,
                    **fields: Any) -> list[tuple[Work, str]]:
        """One call for ``works``; each gets its own result. With ``settle=False`` the works refused as 'exists'
        or 'not found' are returned (not failed) for the caller to re-send."""
        if not works:
            return []
        answer = self.call(service, data=[w.item for w in works], **fields)
        results = answer.get("result") or []
        by_code = {str(r.get("MaHoSo")): r for r in results if isinstance(r, dict)}
        redo = []
        for i, w in enumerate(works):
            r = by_code.get(w.dossier_code) or (results[i] if i < len(results) and isinstance(results[i], dict) else None)
            if r is None or "error_code" not in r or success(r.get("error_code")):
                w.succeed(Reply(status=200, partner_ref=f"{service} {w.dossier_code}", body=r))
                continue
            error = answer_error(r.get("error_code"), r.get("message"), service)
            if not settle and error.code in (errors.DVCQG_EXISTS, errors.DVCQG_NOT_FOUND):
                redo.append((w, error.code))
            else:
                w.fail(error)
        return redo

    def _record(self, acked: list[Work]) -> None:
        """Keep what the portal acknowledged (freshness, sync lag, SMS look-ups) before callers hear of it."""
        if not acked or self.store is None:
            return
        from hub.store import dossiers
        now = utcnow()
        acks = []
        for w in acked:
            delivery: Delivery = w.context
            payload = delivery.message.payload
            agency = payload.get("agency_id") or w.dossier_code.split("-", 1)[0]
            acks.append(dossiers.Acknowledged(w.dossier_code, agency, payload.get("procedure_code"),
                                              int(w.item.get("TrangThaiHoSo") or payload.get("status") or 0),
                                              status_time(delivery), delivery.message.id, now,
                                              delivery.accepted_at))
        try:
            for agency, lag_ms in dossiers.record(self.store, acks):
                SYNC_LAG.labels(agency).observe(lag_ms / 1000)
        except errors.HubError as exc:  # the portal has it; losing the lag figure is better than resending
            log.warning("could not record %d acknowledged dossier state(s): %s", len(acks), exc.code)

    # --- calls -----------------------------------------------------------------------------------
    def _lookup(self, delivery: Delivery) -> Reply:
        from hub.store import procedures
        code = delivery.message.payload.get("procedure_code", "")
        record = procedures.get(self.store, code) if self.store is not None else None
        if record is None:
            return Reply(status=200, payload={"found": False})
        agency = delivery.message.payload.get("agency_id")
        if agency:
            record = {**record, "online_services": [s for s in record.get("online_services", [])
                                                    if s["agency_code"] == agency]}
        return Reply(status=200, payload={"found": True, "procedure": record})

    # --- pull ------------------------------------------------------------------------------------
    def poll(self) -> list[InboundMessage]:
        now = time.monotonic()
        interval = float(self.options.get("catalogue_sync_interval", 21600))
        if interval and now >= self._next_catalogue and self.store is not None:
            self._next_catalogue = now + interval
            try:
                age = self._catalogue_age()
                if age is not None and age < interval:    # another worker of this store synced it: not N syncs
                    self._next_catalogue = now + interval - age
                else:
                    self.sync_catalogue()
            except DeliveryError as exc:
                self._next_catalogue = now + 30
                log.warning("catalogue sync failed: [%s] %s", exc.code, exc.detail)
        if now < self._next_poll:
            return []
        self._next_poll = now + float(self.options.get("poll_interval", 30))
        try:
            answer = self.call("LayDanhSachHoSoTrucTuyen", soLuong=int(self.options.get("poll_limit", 50)))
        except DeliveryError as exc:
            log.warning("online submissions not pulled: [%s] %s", exc.code, exc.detail)
            return []
        owners = self.options.get("agency_owners") or {}
        messages = []
        for item in answer.get("result") or []:
            code = str(item.get("MaHoSo", ""))
            agency = code.split("-", 1)[0]
            try:
                payload = submitted_from_dvcqg(item, owners.get(agency, agency))
            except (KeyError, ValueError, TypeError) as exc:
                log.error("online submission %s unreadable: %s", code, type(exc).__name__)
                continue
            messages.append(InboundMessage("dossier.submitted", payload, subject=code, id=f"dvcqg-submitted-{code}"))
        return messages

    def acknowledge(self, items: list[InboundMessage]) -> None:
        """Stored by the hub: the portal may take them off its queue (XacNhanHoSoTrucTuyen)."""
        try:
            self.call("XacNhanHoSoTrucTuyen", data=[m.subject for m in items])
        except DeliveryError as exc:  # pulled again next time; the hub keeps one message per id
            log.warning("online submissions not acknowledged: [%s] %s", exc.code, exc.detail)

    def _catalogue_age(self) -> float | None:
        """Seconds since the store's catalogue copy was replaced by any process, None when it never was."""
        from hub.store import procedures
        synced = procedures.last_synced(self.store)
        return None if synced is None else max(0.0, (utcnow() - synced).total_seconds())

    def sync_catalogue(self) -> int:
        """LayDanhSachTTHC + LayThuTuc (+ LayDVC) into the hub's copy; returns the number of procedures."""
        from hub.store import procedures
        listing = self.call("LayDanhSachTTHC").get("result") or []
        synced_at = utcnow().isoformat()
        records = []
        for row in listing:
            code = row.get("MATTHC")
            if not code:
                continue
            full = (self.call("LayThuTuc", maTTHC=code).get("result") or [None])[0]
            if not full:
                continue
            dvc = (self.call("LayDVC", maTTHC=code).get("result") or [{}])[0].get("APDUNGDVC") or []
            records.append(procedure_from_dvcqg(full, dvc, synced_at))
        count = procedures.replace_all(self.store, records)
        cached = procedures.installed()
        if cached is not None:
            cached.invalidate()
        return count

    def check(self) -> Health:
        started = time.perf_counter()
        try:
            self.portal_session()
            return Health("up", "session open", (time.perf_counter() - started) * 1000)
        except DeliveryError as exc:
            return Health("down", exc.code)
