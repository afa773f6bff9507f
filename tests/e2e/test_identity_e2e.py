"""Identity checks end to end: `run.py serve` as a subprocess, the resident database simulator behind the LGSP
wrapper (the sandbox config), real HTTP. 1,000 concurrent citizen.verify calls answered correctly; every refusal
(bad id, missing purpose, partner error 004/005, SOAP fault) with its code through the API; the access log answers
"who looked up this person" (`run.py access-log`); traces and the hub's log hold masks only (Decree 13/2023).
"""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from hub import errors
from hub.privacy import mask_id
from simulators.dancu_people import Citizen, generate
from tests.conftest import ROOT
from tests.harness import TOKEN, start_hub

pytestmark = pytest.mark.e2e
N_CALLS = 1_000
THREADS = 50
PURPOSE = {"officer_id": "CB-000.00.14.H20-0042", "procedure_code": "1.000894",
           "dossier_code": "000.00.14.H20-231120-0001"}


@pytest.fixture(scope="module")
def people() -> list[Citizen]:
    """The simulator's population: the sandbox runs it with the default seed and size, so these are the same people."""
    return generate()


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    proc = start_hub(tmp_path_factory.mktemp("identity"))
    yield proc
    assert proc.stop() == 0, proc.log()[-2000:]


def verify(c: Citizen, **changes: Any) -> dict[str, Any]:
    payload = {"personal_id": c.personal_id, "full_name": c.full_name, "birth_date": c.birth.isoformat(), **PURPOSE}
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}


def other_day(c: Citizen) -> str:
    return (c.birth.replace(day=1) if c.birth.day != 1 else c.birth.replace(day=2)).isoformat()


def other_century(c: Citizen) -> str:
    """The same day a century away: the id's century/gender digit no longer agrees with it."""
    return c.birth.replace(year=c.birth.year + 100 if c.birth.year < 1950 else c.birth.year - 100, day=1).isoformat()


def case(i: int, people: list[Citizen]) -> tuple[dict[str, Any], bool]:
    """Call i of the 1,000: a real citizen, sometimes with one field that does not match (exact-match semantics)."""
    c = people[(i * 7919) % len(people)]
    kind = i % 5
    if kind == 0:
        return verify(c, full_name=c.full_name.lower()), True           # normalised by the hub: still a match
    if kind == 1:
        return verify(c, birth_date=other_day(c)), False                 # another day of the same year
    if kind == 2:
        return verify(c, full_name=f"{c.family} {c.middle} Khác"), False  # another given name
    if kind == 3 and c.cmnd:
        return verify(c, personal_id=None, cmnd=c.cmnd), True            # the old 9-digit card
    return verify(c), True


def session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    s.headers["Authorization"] = f"Bearer {TOKEN}"
    return s


def test_1000_concurrent_verifications_are_answered_correctly(hub, people) -> None:  # noqa: ANN001
    cases = [case(i, people) for i in range(N_CALLS)]
    assert 300 < sum(1 for _, match in cases if not match) < 500

    def run(chunk: list[tuple[dict[str, Any], bool]]) -> list[tuple[int, Any, bool]]:
        s = session()
        out = []
        for payload, expected in chunk:
            r = s.post(hub.url + "/v1/calls", json={"type": "citizen.verify", "payload": payload}, timeout=30)
            out.append((r.status_code, r.json(), expected))
        return out

    started = time.monotonic()
    with ThreadPoolExecutor(THREADS) as pool:
        results = [r for chunk in pool.map(run, [cases[i::THREADS] for i in range(THREADS)]) for r in chunk]
    elapsed = time.monotonic() - started
    wrong = [(status, body) for status, body, expected in results
             if status != 200 or body.get("status") != "answered" or body["reply"] != {"match": expected}]
    assert not wrong, f"{len(wrong)} wrong answers, e.g. {wrong[:3]}"
    assert len({body["id"] for _, body, _ in results}) == N_CALLS
    print(f"1,000 concurrent calls answered in {elapsed:.1f} s")   # speed: bench/, not a timed test


def call(hub, payload: dict[str, Any], mtype: str = "citizen.verify") -> requests.Response:  # noqa: ANN001
    return hub.post("/v1/calls", json={"type": mtype, "payload": payload})


BAD_IDS = [
    ("unknown province", {"personal_id": "003192003456"}),
    ("century digit 7", {"personal_id": "048792003456"}),
    ("11 digits", {"personal_id": "04819200345"}),
    ("letters", {"personal_id": "04819200345A"}),
    ("CMND with a letter", {"personal_id": None, "cmnd": "12345678X"}),
    ("both ids", {"cmnd": "123456789"}),
    ("no id", {"personal_id": None}),
]


@pytest.mark.parametrize("name,changes", BAD_IDS, ids=[b[0] for b in BAD_IDS])
def test_bad_ids_are_refused_at_the_gateway(hub, people, name, changes) -> None:  # noqa: ANN001
    r = call(hub, verify(people[1], **changes))
    assert r.status_code == 422, r.text
    assert r.json()["code"] == errors.MSG_SCHEMA_INVALID
    assert any(e["path"] in ("/payload", "/payload/personal_id", "/payload/cmnd") for e in r.json()["errors"])


CONNECTOR_REFUSALS = [
    # checks only the hub can make (the schema cannot): each refused before the partner is called
    ("id century vs birth date", lambda c: {"birth_date": other_century(c)}, errors.ID_BIRTH_MISMATCH),
    ("id year vs birth date", lambda c: {"birth_date": c.birth.replace(year=c.birth.year + 1, day=1).isoformat()},
     errors.ID_BIRTH_MISMATCH),
    ("digits as a name", lambda c: {"full_name": "048192003456"}, errors.ID_BAD_NAME),
    ("blank officer", lambda c: {"officer_id": "   "}, errors.ID_PURPOSE_MISSING),
    ("officer of tabs", lambda c: {"officer_id": "\t \t"}, errors.ID_PURPOSE_MISSING),
]


@pytest.mark.parametrize("name,change,code", CONNECTOR_REFUSALS, ids=[c[0] for c in CONNECTOR_REFUSALS])
def test_refusals_before_calling_the_partner(hub, people, name, change, code) -> None:  # noqa: ANN001
    c = people[2]
    before = requests.get(hub.sim_url + "/dancu/_stats", timeout=10).json()["wrapper"]
    r = call(hub, verify(c, **change(c)))
    body = r.json()
    assert (r.status_code, body["code"], body["cause"]) == (502, errors.CALL_FAILED, code), r.text
    assert c.personal_id not in r.text and c.given not in body["detail"]
    assert requests.get(hub.sim_url + "/dancu/_stats", timeout=10).json()["wrapper"] == before


@pytest.mark.parametrize("missing", ["officer_id", "procedure_code", "dossier_code"])
def test_missing_purpose_is_refused(hub, people, missing) -> None:  # noqa: ANN001
    for mtype, payload in (("citizen.verify", verify(people[3], **{missing: None})),
                           ("citizen.lookup", {"personal_id": people[3].personal_id,
                                               **{k: v for k, v in PURPOSE.items() if k != missing}})):
        r = call(hub, payload, mtype)
        assert r.status_code == 422 and r.json()["code"] == errors.MSG_SCHEMA_INVALID, r.text
        assert any(e["path"] == f"/payload/{missing}" for e in r.json()["errors"]), r.text


PARTNER_FAULTS = [("004", errors.ID_PROCEDURE_NOT_LICENSED), ("005", errors.ID_OFFICER_NOT_PERMITTED),
                  ("server", errors.ID_PARTNER_FAULT), ("client", errors.ID_PARTNER_FAULT),
                  ("malformed", errors.DLV_BAD_REPLY)]


@pytest.mark.parametrize("mode,code", PARTNER_FAULTS)
def test_partner_errors_come_back_with_their_codes(hub, people, mode, code) -> None:  # noqa: ANN001
    r = requests.post(hub.sim_url + "/dancu/_soapfaults", json={"mode": mode, "count": 1}, timeout=10)
    assert r.ok
    c = people[4]
    r = call(hub, verify(c))
    body = r.json()
    assert (r.status_code, body["code"], body["cause"]) == (502, errors.CALL_FAILED, code), r.text
    assert c.personal_id not in r.text
    # the fault was one answer: the next call is answered again
    assert call(hub, verify(c)).json()["reply"] == {"match": True}


def test_refusals_by_the_partner_for_its_own_reasons(hub, people) -> None:  # noqa: ANN001
    c = people[5]
    r = call(hub, verify(c, procedure_code="1.999999"))         # a procedure the database has not licensed
    assert (r.json()["code"], r.json()["cause"]) == (errors.CALL_FAILED, errors.ID_PROCEDURE_NOT_LICENSED)
    r = call(hub, {"personal_id": c.personal_id, **PURPOSE, "officer_id": "CB-KHONG-QUYEN"}, "citizen.lookup")
    assert (r.json()["code"], r.json()["cause"]) == (errors.CALL_FAILED, errors.ID_OFFICER_NOT_PERMITTED)


def test_access_log_answers_who_looked_up_a_person_and_nothing_personal_leaks(hub, people) -> None:  # noqa: ANN001
    c = people[4242]
    officers = ["CB-000.00.14.H20-0007", "CB-000.00.14.H20-0099"]
    ids = []
    for officer, dossier in zip(officers, ["000.00.14.H20-240105-0017", "000.00.14.H20-240106-0003"]):
        purpose = {**PURPOSE, "officer_id": officer, "dossier_code": dossier}
        r = call(hub, {"personal_id": c.personal_id, **purpose}, "citizen.lookup")
        assert r.status_code == 200, r.text
        [record] = r.json()["reply"]["citizens"]           # the full record: only in the reply to the caller
        assert record["personal_id"] == c.personal_id and record["name"]["given"] == c.given
        ids.append(r.json()["id"])
        r = call(hub, verify(c, **purpose))
        assert r.json()["reply"] == {"match": True}
        ids.append(r.json()["id"])
    started = dt.datetime.now(dt.timezone.utc)

    out = subprocess.run([sys.executable, str(ROOT / "run.py"), "access-log", "--citizen", c.personal_id, "--store",
                          f"sqlite:///{hub.log_path.parent}/hub.db"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"4 lookup(s) of citizen {mask_id(c.personal_id)}:"
    rows = [line.split() for line in lines[2:]]
    assert [(r[1], r[3], r[6]) for r in rows] == [("lookup", officers[0], "found"), ("verify", officers[0], "match"),
                                                  ("lookup", officers[1], "found"), ("verify", officers[1], "match")]
    assert {r[2] for r in rows} == {"demo"} and {r[4] for r in rows} == {PURPOSE["procedure_code"]}
    assert [r[5] for r in rows] == ["000.00.14.H20-240105-0017"] * 2 + ["000.00.14.H20-240106-0003"] * 2
    assert [r[7] for r in rows] == ids
    assert all(abs((dt.datetime.fromisoformat(r[0]) - started).total_seconds()) < 120 for r in rows)
    assert c.personal_id not in out.stdout and c.given not in out.stdout

    as_json = subprocess.run([sys.executable, str(ROOT / "run.py"), "access-log", "--citizen", c.personal_id, "--json",
                              "--store", f"sqlite:///{hub.log_path.parent}/hub.db"], capture_output=True, text=True,
                             timeout=60)
    assert as_json.returncode == 0 and len(as_json.stdout.splitlines()) == 4
    nobody = subprocess.run([sys.executable, str(ROOT / "run.py"), "access-log", "--citizen", people[4243].personal_id,
                             "--store", f"sqlite:///{hub.log_path.parent}/hub.db"], capture_output=True, text=True,
                            timeout=60)
    assert nobody.stdout.strip() == f"no lookups of citizen {mask_id(people[4243].personal_id)} are recorded"

    # traces: every hop of every lookup, and the failures too, hold masks at most
    failed = call(hub, verify(c, birth_date=other_century(c)))
    assert failed.json()["cause"] == errors.ID_BIRTH_MISMATCH
    secrets = [c.personal_id, c.full_name, c.given, c.full_name.upper(), c.birth.strftime("%Y%m%d")] + \
              ([c.cmnd] if c.cmnd else [])
    for mid in [*ids, failed.json()["id"]]:
        response = hub.get(f"/v1/messages/{mid}")
        trace = response.text
        kinds = {h["kind"] for h in response.json()["hops"]}
        assert {"received", "routed", "attempt"} <= kinds and kinds & {"answered", "failed"}, kinds
        leaked = [s for s in secrets if s in trace]
        assert not leaked, f"personal data in the trace of {mid}"
    assert mask_id(c.personal_id) in hub.get(f"/v1/messages/{failed.json()['id']}").text
    log = hub.log()
    assert "/v1/calls" in log and not [s for s in secrets if s in log], "personal data in the hub's log"
