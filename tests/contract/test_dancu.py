"""The resident database connector against its simulator, in both modes, plus the identity checks' codes."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from hub import errors
from hub.contracts import Connector, Delivery
from hub.errors import PermanentError, TransientError
from hub.store import Store
from hub.store.tables_access_log import AccessLog
from tests.contract.kit import ConnectorContract, SimServer, StubContext, delivery_for, simulator_server
from hub import registry

PURPOSE = {"officer_id": "CB-000.00.14.H20-0042", "procedure_code": "1.000894",
           "dossier_code": "000.00.14.H20-231120-0001"}
WRAPPER = {"client_id": "lgsp-sandbox", "client_secret": "lgsp-sandbox-secret", "access_key": "sandbox-access-key",
           "secret_key": "sandbox-secret-key", "app_name": "LGSP-HUB", "partner_code": "000.00.00.H20",
           "partner_code_cus": "000.00.00.H20"}


class StoreContext(StubContext):
    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path}/hub.db")
    s.migrate()
    yield s
    s.close()


def build(options: dict[str, Any], store: Store) -> Connector:
    conn = registry.connectors.get("dancu")("dancu", options, StoreContext(store))
    conn.start()
    return conn


def verify_payload(sim: SimServer, index: int = 7, **changes: Any) -> dict[str, Any]:
    c = sim.app.people[index]
    return {"personal_id": c.personal_id, "full_name": c.full_name, "birth_date": c.birth.isoformat(),
            **PURPOSE, **changes}


class _DanCuContract(ConnectorContract):
    simulator = "dancu"
    connector_type = "dancu"
    idempotent = False        # a lookup has no effect to deduplicate; each one is logged on both sides
    mode = "direct"

    def options(self, sim: SimServer) -> dict[str, Any]:
        return {"url": sim.url, "mode": self.mode, "read_timeout": 3, **WRAPPER}

    @pytest.fixture
    def connector(self, sim, store):  # noqa: ANN001, ANN201
        conn = build(self.options(sim), store)
        self._sim = sim
        yield conn
        conn.stop()

    def delivery(self) -> Delivery:
        return delivery_for("citizen.verify", verify_payload(self._sim))

    def effects(self, sim: SimServer, delivery: Delivery) -> int:
        return sim.app.requests_by_id.get(delivery.message.id, 0)

    def check_reply(self, reply, delivery) -> None:  # noqa: ANN001
        assert reply.payload == {"match": True}

    def test_unreachable_partner_is_transient(self, sim, store):  # noqa: ANN001
        self._sim = sim
        conn = build({**self.options(sim), "url": "http://127.0.0.1:9/dancu"}, store)
        with pytest.raises(TransientError) as info:
            conn.send(self.delivery())
        assert info.value.code in ("delivery.network", "delivery.timeout")


class TestDirectSoapContract(_DanCuContract):
    mode = "direct"


class TestLgspWrapperContract(_DanCuContract):
    mode = "lgsp"

    def test_token_is_cached(self, connector, sim):  # noqa: ANN001
        for _ in range(3):
            connector.send(self.delivery())
        assert sim.app.stats_counts["tokens"] == 1

    def test_expired_token_is_renewed_on_the_next_attempt(self, connector, sim):  # noqa: ANN001
        connector.send(self.delivery())
        sim.app.tokens.clear()                    # the wrapper forgot it (restart, revocation)
        with pytest.raises(TransientError):
            connector.send(self.delivery())
        assert connector.send(self.delivery()).payload == {"match": True}
        assert sim.app.stats_counts["tokens"] == 2

    def test_wrong_credentials_are_refused_with_a_code(self, sim, store):  # noqa: ANN001
        conn = build({**self.options(sim), "client_secret": "wrong"}, store)
        self._sim = sim
        with pytest.raises(PermanentError) as info:
            conn.send(self.delivery())
        assert info.value.code == errors.ID_TOKEN_REFUSED


@pytest.fixture(params=["direct", "lgsp"])
def both(request, store) -> Iterator[tuple[SimServer, Connector]]:  # noqa: ANN001
    with simulator_server("dancu") as sim:
        conn = build({"url": sim.url, "mode": request.param, **WRAPPER}, store)
        yield sim, conn
        conn.stop()


def test_exact_match_semantics(both) -> None:  # noqa: ANN001
    sim, conn = both
    c = sim.app.people[11]
    good = verify_payload(sim, 11)
    assert conn.send(delivery_for("citizen.verify", good)).payload == {"match": True}
    lower = {**good, "full_name": "  " + c.full_name.lower().replace(" ", "   ") + " "}
    assert conn.send(delivery_for("citizen.verify", lower)).payload == {"match": True}      # normalised
    other_day = c.birth.replace(day=1 if c.birth.day != 1 else 2).isoformat()
    assert conn.send(delivery_for("citizen.verify", {**good, "birth_date": other_day})).payload == {"match": False}
    assert conn.send(delivery_for("citizen.verify", {**good, "full_name": c.family + " Văn Khác"})).payload == {"match": False}


def test_names_without_diacritics_when_configured(store) -> None:
    with simulator_server("dancu") as sim:
        conn = build({"url": sim.url, "name_diacritics": "strip"}, store)
        payload = verify_payload(sim, 3)
        assert conn.send(delivery_for("citizen.verify", payload)).payload == {"match": True}


def test_lookup_returns_the_canonical_record(both) -> None:  # noqa: ANN001
    sim, conn = both
    c = sim.app.people[21]
    reply = conn.send(delivery_for("citizen.lookup", {"personal_id": c.personal_id, **PURPOSE}))
    [record] = reply.payload["citizens"]
    assert reply.payload["found"] is True
    assert record["personal_id"] == c.personal_id and record["birth_date"] == c.birth.isoformat()
    assert record["name"] == {"family": c.family, "middle": c.middle, "given": c.given}
    assert record["gender"] == ("male" if c.gender == 1 else "female")
    assert record["permanent_address"]["province_code"] == c.permanent.province
    from hub.schemas import default_catalog
    reply_schema = default_catalog().schema("citizen.lookup")["x-reply"] if hasattr(default_catalog(), "schema") else None
    if reply_schema is not None:
        import jsonschema
        jsonschema.validate(reply.payload, reply_schema)
    unknown = conn.send(delivery_for("citizen.lookup", {"personal_id": "001099000000", **PURPOSE}))
    assert unknown.payload == {"found": False, "citizens": []}


def test_lookup_by_cmnd(store) -> None:
    with simulator_server("dancu") as sim:
        conn = build({"url": sim.url}, store)
        c = next(p for p in sim.app.people if p.cmnd)
        reply = conn.send(delivery_for("citizen.lookup", {"cmnd": c.cmnd, **PURPOSE}))
        assert reply.payload["citizens"][0]["cmnd"] == c.cmnd


BAD_INPUTS = [
    ("unknown province", {"personal_id": "003192003456"}, errors.ID_INVALID),
    ("century digit 7", {"personal_id": "048792003456"}, errors.ID_INVALID),
    ("11 digits", {"personal_id": "04819200345"}, errors.ID_INVALID),
    ("CMND with a letter", {"personal_id": None, "cmnd": "12345678X"}, errors.ID_INVALID),
    ("both ids", {"cmnd": "123456789"}, errors.ID_INVALID),
    ("gender/century vs birth", {"personal_id": "048292003456", "birth_date": "1992-05-14"}, errors.ID_BIRTH_MISMATCH),
    ("year vs birth", {"personal_id": "048192003456", "birth_date": "1993-05-14"}, errors.ID_BIRTH_MISMATCH),
    ("not a date", {"birth_date": "14/05/1992"}, errors.ID_BAD_BIRTH_DATE),
    ("no birth date", {"birth_date": None}, errors.ID_BAD_BIRTH_DATE),
    ("digits as a name", {"full_name": "048192003456"}, errors.ID_BAD_NAME),
    ("blank name", {"full_name": "   "}, errors.ID_BAD_NAME),
    ("no officer", {"officer_id": ""}, errors.ID_PURPOSE_MISSING),
    ("no procedure", {"procedure_code": None}, errors.ID_PURPOSE_MISSING),
    ("no dossier", {"dossier_code": None}, errors.ID_PURPOSE_MISSING),
]


@pytest.mark.parametrize("case,changes,code", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_inputs_are_refused_before_calling(case, changes, code, store) -> None:  # noqa: ANN001
    with simulator_server("dancu") as sim:
        conn = build({"url": sim.url}, store)
        payload = {"personal_id": "048192003456", "full_name": "Nguyễn Thị Hồng Nhung", "birth_date": "1992-05-14",
                   **PURPOSE}
        payload.update(changes)
        payload = {k: v for k, v in payload.items() if v is not None}
        with pytest.raises(PermanentError) as info:
            conn.send(delivery_for("citizen.verify", payload))
        assert info.value.code == code
        assert "048192003456" not in str(info.value) and "Nhung" not in str(info.value)
        assert sim.app.requests_by_id == {} and sim.app.stats_counts["soap"] == 0
        assert AccessLog(store.engine).for_citizen("048192003456") == []


PARTNER_ERRORS = [("004", errors.ID_PROCEDURE_NOT_LICENSED), ("005", errors.ID_OFFICER_NOT_PERMITTED),
                  ("server", errors.ID_PARTNER_FAULT), ("client", errors.ID_PARTNER_FAULT),
                  ("malformed", errors.DLV_BAD_REPLY)]


@pytest.mark.parametrize("mode,code", PARTNER_ERRORS)
def test_partner_errors_map_to_codes(mode, code, both, store) -> None:  # noqa: ANN001
    sim, conn = both
    sim.app.soap_fault_mode, sim.app.soap_fault_count = mode, 1
    payload = verify_payload(sim, 2)
    with pytest.raises(PermanentError) as info:
        conn.send(delivery_for("citizen.verify", payload))
    assert info.value.code == code
    [entry] = AccessLog(store.engine).for_citizen(payload["personal_id"])
    assert entry["outcome"] == code


def test_unlicensed_procedure_and_denied_officer_from_the_partner(both) -> None:  # noqa: ANN001
    sim, conn = both
    with pytest.raises(PermanentError) as info:
        conn.send(delivery_for("citizen.verify", verify_payload(sim, procedure_code="1.999999")))
    assert info.value.code == errors.ID_PROCEDURE_NOT_LICENSED
    with pytest.raises(PermanentError) as info:
        conn.send(delivery_for("citizen.lookup", {"personal_id": sim.app.people[1].personal_id,
                                                  **PURPOSE, "officer_id": "CB-KHONG-QUYEN"}))
    assert info.value.code == errors.ID_OFFICER_NOT_PERMITTED


def test_every_lookup_is_in_the_access_log_masked(both, store) -> None:  # noqa: ANN001
    sim, conn = both
    c = sim.app.people[30]
    conn.send(delivery_for("citizen.verify", verify_payload(sim, 30)))
    conn.send(delivery_for("citizen.lookup", {"personal_id": c.personal_id, **PURPOSE}))
    rows = AccessLog(store.engine).for_citizen(c.personal_id)
    assert [(r["operation"], r["outcome"]) for r in rows] == [("verify", "match"), ("lookup", "found")]
    assert all(r["officer_id"] == PURPOSE["officer_id"] and r["dossier_code"] == PURPOSE["dossier_code"]
               and r["procedure_code"] == PURPOSE["procedure_code"] for r in rows)
    assert rows[0]["citizen_masked"] == c.personal_id[:4] + "******" + c.personal_id[-2:]
    with store.engine.connect() as db:
        from sqlalchemy import text
        dump = " ".join(str(v) for row in db.execute(text("SELECT * FROM citizen_access_log")) for v in row)
    assert c.personal_id not in dump and c.given not in dump


def test_no_access_log_no_lookup() -> None:
    with simulator_server("dancu") as sim:
        conn = registry.connectors.get("dancu")("dancu", {"url": sim.url}, StubContext())
        conn.start()
        with pytest.raises(PermanentError) as info:
            conn.send(delivery_for("citizen.verify", verify_payload(sim)))
        assert info.value.code == errors.ID_PURPOSE_MISSING and sim.app.stats_counts["soap"] == 0


def test_population_is_seeded_and_valid() -> None:
    from hub import formats
    from simulators.dancu_people import generate
    people = generate()
    assert len(people) >= 10_000 and people[:50] == generate()[:50]
    assert len({p.personal_id for p in people}) == len(people)
    assert all(formats.is_personal_id(p.personal_id) and formats.personal_id_consistent_with_birth(p.personal_id, p.birth)
               for p in people)
    assert any(ch in p.full_name for p in people[:20] for ch in "ễịồươăđĐ")
    assert all(p.permanent.province in formats.PROVINCE_CODES and len(p.permanent.commune) == 5 for p in people[:100])


def test_simulator_refuses_dtds_and_bad_requests() -> None:
    import requests
    with simulator_server("dancu") as sim:
        evil = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>&e;</soap:Body></soap:Envelope>')
        r = requests.post(f"{sim.url}/soap", data=evil, timeout=5)
        assert r.status_code == 500 and b"Fault" in r.content and b"root:" not in r.content
        bad = (b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
               b'<XacThucThongTinCongDan xmlns="http://dancuquocgia.bca"><MaYeuCau>1</MaYeuCau></XacThucThongTinCongDan>'
               b'</soap:Body></soap:Envelope>')
        r = requests.post(f"{sim.url}/soap", data=bad, timeout=5)
        assert r.status_code == 500 and b"schema" in r.content
