"""Document exchange end to end: `run.py serve` as a subprocess with the sandbox config, the exchange axis simulator.

Agency A (000.00.14.H20, the sandbox client `demo`) sends 200 documents with attachments to agencies B and C through
the hub (document.send -> edxml -> sign -> qlvb -> sendEdoc). B and C are agencies on the axis that this hub does
not serve: the test plays them on the simulator's agency-side endpoints (getReceivedEdocList, getEdoc, updateStatus),
verifying what they receive and answering with status packets signed with their (sandbox) agency key. B accepts
everything; C refuses every fifth. Every status reaches A's one-stop system by webhook, pulled from the axis by the
hub's scheduler (never by calling poll() here), each one verified against the province agencies' trust store and
recorded as a `verified` hop. A document tampered with on the axis is refused with its code and never reaches A.
"""
from __future__ import annotations

import datetime as dt
import json
import time
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from hub.gateway import message_view
from hub.signing import xmldsig
from hub.signing.service import SigningService
from hub.store import Store
from tests.conftest import ROOT
from tests.harness import start_hub, wait_until
from transforms import edxml

pytestmark = pytest.mark.e2e
N_DOCS = 200
A = {"organ_id": "000.00.14.H20", "name": "Sở Tư pháp tỉnh Đồng Tháp"}
B = {"organ_id": "000.00.15.H20", "name": "Sở Nội vụ tỉnh Đồng Tháp"}
C = {"organ_id": "000.00.16.H20", "name": "Sở Tài chính tỉnh Đồng Tháp"}
G06 = {"organ_id": "000.00.00.G06", "name": "Văn phòng Chính phủ"}


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    proc = start_hub(tmp_path_factory.mktemp("documents"))
    yield proc
    for store in _stores.values():
        store.close()
    assert proc.stop() == 0, proc.log()[-2000:]


@pytest.fixture(scope="module")
def agencies() -> SigningService:
    """B's and C's side: in the sandbox every agency of the province signs with the sandbox `agency` key."""
    return SigningService.from_config({"sandbox_pki": str(ROOT / "var" / "pki"), "keys": {"agency": {"sandbox": "agency"}},
                                       "trust": {"agency": {"sandbox": "agency"}, "qlvb": {"sandbox": "qlvb"}}},
                                      ROOT / "config")


def template() -> dict[str, Any]:
    return json.loads((ROOT / "tests" / "golden" / "edxml" / "document-new.json").read_text(encoding="utf-8"))["payload"]


def document(run: str, i: int) -> dict[str, Any]:
    p = template()
    p["dossier_code"] = f"000.00.14.H20-240301-{i:04d}"
    p["code"] = {"number": str(1000 + i), "notation": f"QĐ-STP-{run}"}
    p["subject"] = f"Về việc công bố thủ tục hành chính số {i} lĩnh vực hộ tịch"
    p["to"] = [B, C]
    p["attachments"] = [{"name": f"Quyết định {1000 + i}.pdf", "content_type": "application/pdf",
                         "description": "Bản ký số", "content_base64": _b64(f"%PDF-1.4 văn bản {i} " * 20)},
                        {"name": "Phụ lục.txt", "content_type": "text/plain", "content_base64": _b64(f"phụ lục {i}")}]
    return p


def _b64(text: str) -> str:
    import base64
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def axis(hub, method: str, path: str, **kwargs: Any) -> requests.Response:  # noqa: ANN001
    r = requests.request(method, f"{hub.sim_url}/qlvb{path}", timeout=30, **kwargs)
    assert r.ok, r.text
    return r


def inbox(hub, organ: str) -> list[dict[str, Any]]:  # noqa: ANN001
    return axis(hub, "GET", "/getReceivedEdocList", params={"organId": organ}).json()["data"]


def events(hub, mtype: str) -> list[dict[str, Any]]:  # noqa: ANN001
    return [e for e in requests.get(f"{hub.sim_url}/onestop/demo/events", timeout=30).json() if e["type"] == mtype]


def store_url(hub) -> str:  # noqa: ANN001
    return f"sqlite:///{hub.log_path.parent}/hub.db"


_stores: dict[str, Store] = {}


def trace(hub, message_id: str) -> dict[str, Any] | None:  # noqa: ANN001
    """The message as an operator sees it (`run.py trace --json`): read from the hub's store."""
    url = store_url(hub)
    store = _stores.get(url) or _stores.setdefault(url, Store(url))
    record = store.message(message_id)
    return message_view(record) if record else None


def status_packet(signing: SigningService, me: dict[str, str], about: dict[str, Any], code: str, text: str) -> bytes:
    payload = {"response_for": {"organ_id": about["from"]["organ_id"],
                                "code": f"{about['code']['number']}/{about['code']['notation']}"},
               "from": me, "status_code": code, "description": text,
               "at": dt.datetime.now(dt.timezone.utc).isoformat(), "staff": {"name": "Văn thư", "department": "Văn phòng"}}
    raw = edxml.serialise(edxml.build_status(payload))
    return signing.sign_xml(raw, "agency", xmldsig.EDXML_SIGNATURE_PARENT).data


def act_as_receiver(hub, signing: SigningService, me: dict[str, str], refuse) -> dict[str, str]:  # noqa: ANN001
    """An agency on the axis: take each document, check its signature and content, answer with a status packet."""
    answered: dict[str, str] = {}
    for entry in inbox(hub, me["organ_id"]):
        data = axis(hub, "GET", "/getEdoc", params={"docId": entry["DocId"], "organId": me["organ_id"]}).content
        result, _ = signing.verify_xml(data, "agency", xmldsig.EDXML_SIGNATURE)
        assert edxml.validate(result.signed_root) == []
        doc = edxml.parse_document(result.signed_root)
        assert doc["from"]["organ_id"] == A["organ_id"] and len(doc["attachments"]) == 2
        i = int(doc["code"]["number"]) - 1000
        assert doc["attachments"][1]["content_base64"] == _b64(f"phụ lục {i}")
        code, text = ("02", "Từ chối: văn bản không thuộc thẩm quyền") if refuse(i) else ("03", "Đã tiếp nhận văn bản")
        axis(hub, "POST", "/updateStatus", params={"docId": entry["DocId"]}, data=status_packet(signing, me, doc, code, text),
             headers={"from": me["organ_id"], "Content-Type": "application/xml; charset=utf-8"})
        answered[doc["code"]["number"]] = code
    return answered


def test_200_documents_to_two_agencies_and_every_status_back(hub, agencies) -> None:  # noqa: ANN001
    run = uuid.uuid4().hex[:6].upper()
    ids = [f"doc-{run}-{i:03d}" for i in range(N_DOCS)]
    started = time.monotonic()

    def send(chunk: list[int]) -> list[int]:
        s = requests.Session()
        s.trust_env = False
        s.headers.update(hub.session.headers)
        return [s.post(hub.url + "/v1/messages", json={"id": ids[i], "type": "document.send",
                                                       "payload": document(run, i)}, timeout=30).status_code
                for i in chunk]

    with ThreadPoolExecutor(10) as pool:
        codes = [c for chunk in pool.map(send, [list(range(N_DOCS))[k::10] for k in range(10)]) for c in chunk]
    assert codes == [202] * N_DOCS

    # every document leaves the hub signed by A's key and is queued by the axis for both receivers
    assert wait_until(lambda: len(inbox(hub, B["organ_id"])) == N_DOCS and len(inbox(hub, C["organ_id"])) == N_DOCS,
                      timeout=60), hub.log()[-3000:]
    for mid in ids[::20]:
        view = hub.get(f"/v1/messages/{mid}").json()
        assert view["state"] == "delivered" and [d["connector"] for d in view["deliveries"]] == ["qlvb"]
        signed = [h for h in view["hops"] if h["kind"] == "signed"]
        assert len(signed) == 1 and "key=agency format=xmldsig alg=rsa-sha256" in signed[0]["detail"]

    # B accepts everything, C refuses every fifth
    accepted_by_b = act_as_receiver(hub, agencies, B, lambda i: False)
    answered_by_c = act_as_receiver(hub, agencies, C, lambda i: i % 5 == 0)
    assert set(accepted_by_b.values()) == {"03"} and len(accepted_by_b) == N_DOCS
    assert list(answered_by_c.values()).count("02") == N_DOCS // 5 and len(answered_by_c) == N_DOCS
    assert inbox(hub, B["organ_id"]) == [] and inbox(hub, C["organ_id"]) == []

    # the scheduler pulls A's inbox: every status reaches A's one-stop system
    notation = f"QĐ-STP-{run}"

    def statuses() -> list[dict[str, Any]]:
        return [e for e in events(hub, "document.status") if e["payload"]["response_for"]["code"].endswith(notation)]

    assert wait_until(lambda: len(statuses()) >= 2 * N_DOCS, timeout=60), \
        f"{len(statuses())} statuses reached A\n{hub.log()[-3000:]}"
    got = statuses()
    assert len(got) == 2 * N_DOCS, "each status exactly once"
    seen = {(e["payload"]["from"]["organ_id"], e["payload"]["response_for"]["code"].split("/")[0]):
            e["payload"]["status_code"] for e in got}
    expected = {**{(B["organ_id"], n): c for n, c in accepted_by_b.items()},
                **{(C["organ_id"], n): c for n, c in answered_by_c.items()}}
    assert seen == expected
    assert all(e["payload"]["response_for"]["organ_id"] == A["organ_id"] for e in got)
    refusal = next(e for e in got if e["payload"]["status_code"] == "02")
    assert refusal["payload"]["description"] == "Từ chối: văn bản không thuộc thẩm quyền"

    # each inbound status packet was verified before it was used, and the trace says by whom and with what
    # (an operator's view: a client's /v1/messages/{id} shows only the messages it sent itself)
    for event in got:
        view = trace(hub, event["id"])
        assert view["source"] == "qlvb" and view["state"] == "delivered"
        assert [d["route"] for d in view["deliveries"]] == ["documents-to-demo-client"]   # never sent back to the axis
        [verified] = [h for h in view["hops"] if h["kind"] == "verified"]
        assert verified["detail"].startswith("key=province-agencies format=xmldsig alg=rsa-sha256"), verified
    out = subprocess.run([sys.executable, str(ROOT / "run.py"), "trace", got[0]["id"], "--store", store_url(hub)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "verified" in out.stdout and "key=province-agencies" in out.stdout, out.stdout
    # the hub told the axis each packet arrived (01), so A's inbox is empty again
    assert wait_until(lambda: inbox(hub, A["organ_id"]) == [], timeout=30)
    # speed is measured by bench/ (signed XML scenario), not asserted here: a loaded CI machine is no benchmark
    print(f"200 documents both ways in {time.monotonic() - started:.1f} s")


def test_documents_from_the_axis_are_verified_and_a_tampered_one_never_reaches_the_client(hub, agencies) -> None:  # noqa: ANN001
    run = uuid.uuid4().hex[:6].upper()
    good = {**template(), "from": G06, "to": [A], "code": {"number": "7816", "notation": f"VPCP-{run}"},
            "subject": "Về việc triển khai Đề án 06 (bản gốc)"}
    bad = {**good, "code": {"number": "7817", "notation": f"VPCP-{run}"}}
    good_id = axis(hub, "POST", "/_inject", json={"payload": good}).json()["DocId"]
    bad_id = axis(hub, "POST", "/_inject", json={"payload": bad, "tamper": True}).json()["DocId"]

    def received() -> list[dict[str, Any]]:
        return [e for e in events(hub, "document.received") if e["payload"]["code"]["notation"] == f"VPCP-{run}"]

    assert wait_until(lambda: received() and 1 <= len(axis(hub, "GET", "/_stats").json()["statuses"].get(bad_id, [])),
                      timeout=30), hub.log()[-3000:]
    time.sleep(1.5)                                            # one more poll: nothing else arrives
    [doc] = received()
    assert doc["payload"]["edoc_id"] == good_id and doc["payload"]["subject"] == good["subject"]
    assert len(doc["payload"]["attachments"]) == len(good["attachments"])
    view = trace(hub, doc["id"])
    [verified] = [h for h in view["hops"] if h["kind"] == "verified"]
    assert verified["detail"].startswith("key=qlvb format=xmldsig")          # the axis's own signature, its store

    # the tampered one: answered 02 with its code (the sender hears why), logged, never a message
    stats = axis(hub, "GET", "/_stats").json()
    assert stats["statuses"][bad_id] == ["02"] and stats["statuses"][good_id] == ["01"]
    assert f"document {bad_id} for {A['organ_id']} refused: [signature.invalid]" in hub.log()
    assert trace(hub, f"qlvb:{A['organ_id']}:{bad_id}") is None
    # and G06, the sender, reads the refusal and its code on the axis
    heard = []
    for entry in inbox(hub, G06["organ_id"]):
        packet = axis(hub, "GET", "/getEdoc", params={"docId": entry["DocId"], "organId": G06["organ_id"]}).content
        status = edxml.parse_status(xmldsig.verify(packet, "agency", xmldsig.EDXML_SIGNATURE,
                                                   keyring=agencies.keyring).signed_root)
        heard.append((status["status_code"], status["description"]))
    assert sorted(heard) == [("01", "Đã đến"), ("02", "Từ chối: signature.invalid")]
    assert inbox(hub, A["organ_id"]) == []
