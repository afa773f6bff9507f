"""The hub's latest-known dossier state keeps UTC and shows Vietnam time, on SQLite and PostgreSQL.

The one-stop systems stamp their updates in Asia/Ho_Chi_Minh (+07:00, the ``updated_at`` header). SQLite keeps no
offset: a +07:00 time stored as is came back read as UTC, seven hours late, so SMS replies showed the wrong hour and
a newer update could look older than the portal's state (and be skipped).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode


from connectors.dvcqg_batch import Work
from hub import registry
from hub.contracts import InboundRequest
from hub.store import Store, dossiers
from tests.contract.kit import StubContext, delivery_for

VIETNAM = timezone(timedelta(hours=7))
CODE = "000.00.14.H20-231120-0007"
MADE = datetime(2023, 11, 20, 9, 30, tzinfo=VIETNAM)          # 02:30 UTC


def acknowledge(store: Store, status: int, made: datetime, message_id: str) -> None:
    dossiers.record(store, [dossiers.Acknowledged(CODE, "000.00.14.H20", "1.001612", status, made, message_id,
                                                  made + timedelta(seconds=2))])


def test_a_vietnam_time_comes_back_as_the_same_instant_in_utc(store):
    acknowledge(store, 2, MADE, "m-1")
    state = dossiers.latest(store, CODE)
    assert state.status_at == MADE and state.status_at.utcoffset() == timedelta(0)
    assert state.status_at == datetime(2023, 11, 20, 2, 30, tzinfo=timezone.utc)
    assert state.synced_at == MADE + timedelta(seconds=2)


def test_a_later_vietnam_update_replaces_the_state_and_an_earlier_does_not(store):
    acknowledge(store, 2, MADE, "m-1")
    acknowledge(store, 4, MADE + timedelta(minutes=5), "m-2")
    acknowledge(store, 2, (MADE + timedelta(minutes=1)).astimezone(timezone.utc), "m-3")   # late, given in UTC
    state = dossiers.latest(store, CODE)
    assert (state.status, state.message_id) == (4, "m-2")


def test_the_portal_connector_does_not_skip_a_newer_vietnam_update(store):
    acknowledge(store, 2, MADE, "m-1")
    connector = registry.connectors.get("dvcqg")("dvcqg", {
        "url": "http://127.0.0.1:9", "username": "u", "password": "p", "dstcode": "LGSP-H20",
        "madonvi": "000.00.00.H20"}, StubContext())
    connector.context.store = store
    connector.start()        # no I/O: the batcher and the set of dossiers known to be on the portal

    def update(made: datetime):  # noqa: ANN202
        delivery = delivery_for("dossier.sync", {"dossier_code": CODE, "status": 4}, subject=CODE)
        delivery.message.headers["updated_at"] = made.isoformat()
        return delivery

    newer, older = (Work("dossier", CODE, {}, update(MADE + delta)) for delta in (timedelta(minutes=5),
                                                                                 -timedelta(minutes=5)))
    connector._skip_stale([newer, older])           # one batch: one look at the store for both
    assert not newer.done
    assert older.done and older.result.partner_ref.startswith("skipped: older") and older.extra["skipped"]
    connector.stop()


def test_the_sms_status_reply_shows_vietnam_local_time(store):
    acknowledge(store, 4, MADE, "m-1")
    context = StubContext()
    context.store = store
    mo = registry.connectors.get("sms_mo")("sms", {"secret": "s" * 20, "allow_from": ["127.0.0.1/32"]}, context)
    body = urlencode({"userId": "0905123456", "serviceNumber": "8188", "commandCode": "DVC", "info": f"DVC {CODE}"})
    request = InboundRequest("POST", "/v1/inbound/sms", {"X-Gateway-Token": "s" * 20,
                                                          "Content-Type": "application/x-www-form-urlencoded"},
                             {}, body.encode(), remote_addr="127.0.0.1")
    _, response = mo.inbound(request)
    assert response.body.decode("ascii") == f"0;71;Ho so {CODE}: Dang xu ly (cap nhat 09:30 20/11/2023)."
