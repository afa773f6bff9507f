"""Families 4 (XML signatures) and 5-JWS through a running hub's real entry points, not the library alone.

* XML-DSig: forged edXML waits on the exchange axis (the qlvb simulator of the hub process, ``/_inject_raw``);
  the QLVB connector polls it, must refuse it with its code (the documented behaviour: the axis hears "02",
  the log names ``[code]``), store no message and hand nothing to the client's one-stop system.
* JWS: a client sends ``dossier.progress`` whose ``department`` is the signed text and ``content`` the detached
  JWS over it; the route's ``verify`` step (format jws) must dead-letter it as ``delivery.verify_failed``
  naming ``[signature.*]``, with no ``verified`` hop and no call to the partner.

A genuine document and a genuine JWS go through first (positive controls): the same setup does accept what is
valid, so a refusal below is the check's doing. Signing helpers come from tests/unit/signing.
"""
from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import hmac
import json
import shutil
import sqlite3
import unicodedata
import uuid

import pytest
import requests
import yaml
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from lxml import etree
from signxml import DigestAlgorithm, SignatureMethod

from hub.signing import jws
from hub.signing import pki as pkimod
from hub.signing.keys import KeyRing, thumbprint
from hub.signing.xmldsig import DS
from tests.conftest import ROOT
from tests.contract.test_qlvb import document
from tests.harness import HubProc, start_hub, wait_until
from tests.security.conftest import CITIZEN_ID, PHONE, SECRETS, Watch, assert_clean_text, auth
from tests.security.test_partner_xml import _stripped, _wrapped
from tests.unit.signing.test_signing_jws import b64, forge
from tests.unit.signing.test_signing_xmldsig import raw_sign
from transforms import edxml

RECEIVER = "000.00.14.H20"           # our agency the QLVB connector polls the axis for
OTHER_PROVINCE = "000.00.00.G06"     # trusted through the axis's pinned certificate (trust store qlvb)
CHAIN_SENDER = "000.00.16.H20"       # here trusted through the sandbox root CA (trust store province-ca)
JWS_ROUTE = "signed-progress-to-echo"
PKI_DIR = ROOT / "var" / "pki"       # the PKI the axis simulator signs and checks with: the hub must use the same


@pytest.fixture(scope="module")
def pki() -> pkimod.SandboxPKI:
    return pkimod.ensure_sandbox_pki(PKI_DIR)


@pytest.fixture(scope="module")
def ring(pki) -> KeyRing:
    return KeyRing.from_config({"sandbox_pki": str(PKI_DIR), "keys": {n: {"sandbox": n} for n in
                                                                       ("agency", "agency-ec", "qlvb")}})


@pytest.fixture(scope="module")
def edge_hub(tmp_path_factory, pki) -> HubProc:
    """A hub like the suite's, plus: a chain-based trust store for one sender, and a JWS verify route."""
    workdir = tmp_path_factory.mktemp("signatures")
    config = workdir / "config"
    shutil.copytree(ROOT / "config", config)
    hub_yaml = yaml.safe_load((config / "hub.yaml").read_text(encoding="utf-8"))
    signing = hub_yaml["signing"]
    signing["sandbox_pki"] = str(PKI_DIR)
    signing["trust"]["province-ca"] = {"ca": [str(pki.root_ca_cert)]}
    signing["trust"]["progress-signers"] = {"pinned": [str(pki.cert_path("agency")), str(pki.cert_path("agency-ec"))],
                                            "jws_algs": ["ES256"]}
    (config / "hub.yaml").write_text(yaml.safe_dump(hub_yaml, allow_unicode=True), encoding="utf-8")
    conn_yaml = yaml.safe_load((config / "connectors.yaml").read_text(encoding="utf-8"))
    conn_yaml["connectors"]["qlvb"]["sender_trust"][CHAIN_SENDER] = "province-ca"
    (config / "connectors.yaml").write_text(yaml.safe_dump(conn_yaml, allow_unicode=True), encoding="utf-8")
    routes = yaml.safe_load((config / "routes.yaml").read_text(encoding="utf-8"))
    routes["routes"] = [r for r in routes["routes"] if "dossier.progress" not in json.dumps(r.get("from"))]
    routes["routes"].append({"name": JWS_ROUTE, "from": "dossier.progress", "to": "echo",
                             "steps": [{"verify": "progress-signers",
                                        "options": {"format": "jws", "field": "department", "jws_field": "content"}}],
                             "retry": {"max_attempts": 2, "backoff": "1s"}})
    (config / "routes.yaml").write_text(yaml.safe_dump(routes, allow_unicode=True), encoding="utf-8")
    proc = start_hub(workdir, "--config", str(config), env=SECRETS)
    yield proc
    proc.stop()


def _db(hub: HubProc, sql: str, *args):
    with sqlite3.connect(hub.log_path.parent / "hub.db") as conn:
        return conn.execute(sql, args).fetchall()


def _onestop_events(hub: HubProc) -> int:
    return len(requests.get(hub.sim_url + "/onestop/demo/events", timeout=10).json())


# --- family 4: edXML from the exchange axis -------------------------------------------------------------

def _edxml(sender: str, subject: str = "Quyết định cấp phép") -> etree._Element:
    """A valid edXML document (what the axis carries), with personal data in it that must never leak."""
    payload = {**document("document-minimal"), "from": {"organ_id": sender, "name": "Cơ quan gửi"},
               "to": [{"organ_id": RECEIVER, "name": "Sở Tư pháp tỉnh Đồng Tháp"}],
               "subject": f"{subject} cho công dân {CITIZEN_ID}, điện thoại {PHONE}"}
    return edxml.build_document(payload, dt.datetime.now(dt.timezone.utc))


def _signed(pki, sender: str, name: str = "qlvb", **kw) -> bytes:
    return raw_sign(_edxml(sender), pki.load_key(name), [pki.load_cert(name)], **kw)


def _chain(pki, key, cert, **kw) -> bytes:
    return raw_sign(_edxml(CHAIN_SENDER), key, [cert, pki.load_issuer()[1]], **kw)


def _second_signature(pki) -> bytes:
    doc = etree.fromstring(_signed(pki, OTHER_PROVINCE))
    doc.find(f"{{{edxml.NS}}}edXMLBody").append(copy.deepcopy(doc.find(f".//{{{DS}}}Signature")))
    return etree.tostring(doc)


def _two_signatures_in_the_header(pki) -> bytes:
    doc = etree.fromstring(_signed(pki, OTHER_PROVINCE))
    signature = doc.find(f".//{{{DS}}}Signature")
    signature.getparent().append(copy.deepcopy(signature))
    return etree.tostring(doc)


def _forged_copy_in_an_object(pki) -> bytes:
    """A ds:Object inside the signature carrying a forged header: the signature covers the real one only."""
    doc = etree.fromstring(_signed(pki, OTHER_PROVINCE))
    signature = doc.find(f".//{{{DS}}}Signature")
    holder = etree.SubElement(signature, f"{{{DS}}}Object")
    forged = copy.deepcopy(doc.find(f"{{{edxml.NS}}}edXMLHeader"))
    forged.remove(forged.find(f".//{{{DS}}}Signature"))
    forged.find(f".//{{{edxml.NS}}}Subject").text = "Quyết định giả mạo"
    holder.append(forged)
    return etree.tostring(doc)


def _appended_after_signing(pki) -> bytes:
    doc = etree.fromstring(_signed(pki, OTHER_PROVINCE))
    etree.SubElement(doc.find(f"{{{edxml.NS}}}edXMLBody"), f"{{{edxml.NS}}}Extra").text = "thêm sau khi ký"
    return etree.tostring(doc)


def _extra_reference(pki) -> bytes:
    doc = _edxml(OTHER_PROVINCE)
    doc.set("Id", "envelope")
    doc.find(f"{{{edxml.NS}}}edXMLBody").set("Id", "body")
    return raw_sign(doc, pki.load_key("qlvb"), [pki.load_cert("qlvb")], reference_uri=["#envelope", "#body"])


def _sha1(pki) -> bytes:
    try:
        return _signed(pki, OTHER_PROVINCE, method=SignatureMethod.RSA_SHA1, digest=DigestAlgorithm.SHA1)
    except Exception:   # a signxml that refuses to make SHA-1: relabel a SHA-256 signature instead
        return _signed(pki, OTHER_PROVINCE).replace(b"xmldsig-more#rsa-sha256", b"xmldsig#rsa-sha1")


def _swapped_certificate(pki) -> bytes:
    """Signed with the axis's key, KeyInfo naming another (pinned nowhere) certificate."""
    doc = etree.fromstring(_signed(pki, OTHER_PROVINCE))
    doc.find(f".//{{{DS}}}X509Certificate").text = base64.b64encode(
        pki.load_cert("agency").public_bytes(serialization.Encoding.DER)).decode()
    return etree.tostring(doc)


def _sha1_signed_certificate(pki) -> bytes:
    try:
        key, cert = pkimod.make_cert(pki, "sha1cert", hash_alg=hashes.SHA1())
    except Exception:
        pytest.skip("this cryptography build cannot sign certificates with SHA-1")
    return _chain(pki, key, cert)


XML_CASES = [
    ("changed after signing", lambda p: _signed(p, OTHER_PROVINCE).replace(b"cho c", b"cho ng", 1), "signature.invalid"),
    ("re-indented after signing", lambda p: etree.tostring(etree.fromstring(_signed(p, OTHER_PROVINCE)),
                                                           pretty_print=True), "signature.invalid"),
    ("element appended after signing", _appended_after_signing, "signature.invalid"),
    ("signature stripped", lambda p: _stripped(_signed(p, OTHER_PROVINCE)), "signature.missing"),
    ("signed header wrapped", lambda p: _wrapped(_signed(p, OTHER_PROVINCE)), "signature.wrapping"),
    ("second signature in the body", _second_signature, "signature.wrapping"),
    ("two signatures in the header", _two_signatures_in_the_header, "signature.wrapping"),
    ("forged header in a ds:Object", _forged_copy_in_an_object, "signature.wrapping"),
    ("signature at the root, not the header", lambda p: _signed(p, OTHER_PROVINCE, parent=None), "signature.wrapping"),
    ("extra reference", _extra_reference, "signature.unexpected_references"),
    ("rsa-sha1 signature", _sha1, "signature.algorithm_forbidden"),
    ("sha1 digest", lambda p: _signed(p, OTHER_PROVINCE).replace(b"xmlenc#sha256", b"xmldsig#sha1"),
     "signature.algorithm_forbidden"),
    ("xpath transform", lambda p: _signed(p, OTHER_PROVINCE).replace(
        b"xmldsig#enveloped-signature", b"http://www.w3.org/TR/1999/REC-xpath-19991116"), "signature.algorithm_forbidden"),
    ("signed by a key the axis store does not pin", lambda p: _signed(p, OTHER_PROVINCE, "agency"),
     "signature.certificate_untrusted"),
    ("false sender: an agency's id, the axis's key", lambda p: _signed(p, "000.00.15.H20"),
     "signature.certificate_untrusted"),
    ("self-signed certificate", lambda p: raw_sign(_edxml(OTHER_PROVINCE), *_self_signed()),
     "signature.certificate_untrusted"),
    ("KeyInfo with two leaf certificates", lambda p: raw_sign(_edxml(OTHER_PROVINCE), p.load_key("qlvb"),
                                                              [p.load_cert("qlvb"), p.load_cert("dvcqg")]),
     "signature.key_info_ambiguous"),
    ("KeyInfo with a KeyValue too", lambda p: _signed(p, OTHER_PROVINCE, always_add_key_value=True),
     "signature.key_info_ambiguous"),
    ("KeyInfo certificate swapped", _swapped_certificate, "signature.certificate_untrusted"),
    ("expired certificate", lambda p: _chain(p, *pkimod.make_expired_cert(p)), "signature.certificate_expired"),
    ("not-yet-valid certificate", lambda p: _chain(p, *pkimod.make_not_yet_valid_cert(p)),
     "signature.certificate_not_yet_valid"),
    ("RSA-1024 certificate", lambda p: _chain(p, *pkimod.make_weak_rsa_cert(p)), "signature.weak_key"),
    ("self-signed under a CA store", lambda p: raw_sign(_edxml(CHAIN_SENDER), *_self_signed()),
     "signature.certificate_untrusted"),
    ("SHA-1-signed certificate", _sha1_signed_certificate, "signature.algorithm_forbidden"),
]


def _self_signed():
    key, cert = pkimod.make_untrusted_cert()
    return key, [cert]


def _axis(hub: HubProc, path: str, **kw) -> dict:
    r = requests.request("POST" if "data" in kw else "GET", f"{hub.sim_url}/qlvb{path}", timeout=10, **kw)
    assert r.status_code == 200, r.text
    return r.json()


def _put_on_axis(hub: HubProc, data: bytes, sender: str) -> str:
    return _axis(hub, f"/_inject_raw?from={sender}&to={RECEIVER}", data=data)["DocId"]


def _statuses(hub: HubProc, doc_id: str) -> list[str]:
    return _axis(hub, "/_stats")["statuses"].get(doc_id, [])


def test_a_genuine_axis_document_is_taken(edge_hub, pki):
    """Positive control: the same path accepts a correctly signed document (stored, status 01, to the client)."""
    before = _onestop_events(edge_hub)
    doc_id = _put_on_axis(edge_hub, _signed(pki, OTHER_PROVINCE), OTHER_PROVINCE)
    assert wait_until(lambda: _statuses(edge_hub, doc_id) == ["01"], timeout=30), _statuses(edge_hub, doc_id)
    assert _db(edge_hub, "select type from messages where id = ?", f"qlvb:{RECEIVER}:{doc_id}") == [("document.received",)]
    assert wait_until(lambda: _onestop_events(edge_hub) > before, timeout=30)


@pytest.mark.parametrize("name,make,code", XML_CASES, ids=[c[0] for c in XML_CASES])
def test_a_forged_axis_document_is_refused_with_its_code(edge_hub, pki, name, make, code):
    data = make(pki)
    sender = CHAIN_SENDER if b"000.00.16.H20" in data else OTHER_PROVINCE
    with Watch(edge_hub):
        events = _onestop_events(edge_hub)
        doc_id = _put_on_axis(edge_hub, data, sender)
        assert wait_until(lambda: _statuses(edge_hub, doc_id), timeout=30) == ["02"], "the axis hears 'refused'"
        lines = [f"document {doc_id} for {RECEIVER} refused: [{c}]" for c in (code if isinstance(code, set) else {code})]
        assert wait_until(lambda: any(line in edge_hub.log() for line in lines), timeout=10), edge_hub.log()[-2000:]
        assert not _db(edge_hub, "select id from messages where id like ?", f"%{doc_id}%"), "a forged document was stored"
        assert _onestop_events(edge_hub) == events, "a forged document reached the client"
    assert _statuses(edge_hub, doc_id) == ["02"]           # refused once, not again at the next polls
    refusal = next(row for row in edge_hub.log().splitlines() if f"document {doc_id} " in row)
    assert_clean_text(refusal)
    assert_clean_text(json.dumps(_axis(edge_hub, "/_stats")))


# --- family 5: detached JWS through a route's verify step -------------------------------------------------

DEPARTMENT = "Bộ phận Tư pháp - Hộ tịch, UBND Phường 1"


def _progress(token: str, department: str = DEPARTMENT) -> dict:
    return {"dossier_code": "000.00.14.H20-231120-0001", "handler_name": "Lê Văn Phước",
            "handler_title": f"Công chức, ĐT {PHONE}", "department": department, "content": token, "status": 4,
            "handled_at": "2023-11-20T10:42:00+07:00"}


def _send(hub: HubProc, payload: dict) -> str:
    mid = f"sig-edge-{uuid.uuid4().hex[:12]}"
    r = requests.post(hub.url + "/v1/messages", headers=auth(), timeout=30,
                      json={"id": mid, "type": "dossier.progress", "payload": payload})
    assert r.status_code in (200, 202), r.text
    return mid


def _settled(hub: HubProc, mid: str) -> tuple[str, str, str]:
    def done():
        rows = _db(hub, "select state, last_code, last_error from deliveries where id = ?", f"{mid}/{JWS_ROUTE}")
        return rows[0] if rows and rows[0][0] in ("delivered", "dead") else None
    row = wait_until(done, timeout=30)
    assert row, _db(hub, "select state, last_code, last_error from deliveries where message_id = ?", mid)
    return row


def _hs256_with_public_key(ring: KeyRing, pki) -> str:
    cert = pki.load_cert("agency-ec")
    header = b64(json.dumps({"alg": "HS256", "kid": thumbprint(cert)}).encode())
    mac = hmac.new(cert.public_bytes(serialization.Encoding.PEM), f"{header}.{b64(DEPARTMENT.encode())}".encode(),
                   hashlib.sha256).digest()
    return f"{header}..{b64(mac)}"


def _es256_by_stranger(pki) -> str:
    """A real ES256 signature, kid and all, by a key issued under the sandbox CA but registered by nobody."""
    key, cert = pkimod.make_cert(pki, "stranger", key_type="ec")
    header = b64(json.dumps({"alg": "ES256", "kid": thumbprint(cert)}).encode())
    r, s = decode_dss_signature(key.sign(f"{header}.{b64(DEPARTMENT.encode())}".encode(), ec.ECDSA(hashes.SHA256())))
    return f"{header}..{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def _embedded(ring: KeyRing) -> str:
    header, _, sig = jws.sign_detached(DEPARTMENT.encode(), "agency-ec", keyring=ring).split(".")
    return f"{header}.{b64(DEPARTMENT.encode())}.{sig}"


ES = lambda ring, **kw: jws.sign_detached(DEPARTMENT.encode(), "agency-ec", keyring=ring, **kw)  # noqa: E731
JWS_CASES = [
    ("alg none, no signature", lambda r, p: b64(b'{"alg":"none"}') + "..", "signature.algorithm_forbidden"),
    ("alg none with a signature", lambda r, p: forge({"alg": "none"}), "signature.algorithm_forbidden"),
    ("alg None with a kid", lambda r, p: forge({"alg": "None", "kid": thumbprint(p.load_cert("agency-ec"))}),
     "signature.algorithm_forbidden"),
    ("HS256 keyed with the public certificate", _hs256_with_public_key, "signature.algorithm_forbidden"),
    ("RS256, outside the allow-list", lambda r, p: jws.sign_detached(DEPARTMENT.encode(), "agency", keyring=r),
     "signature.algorithm_forbidden"),
    ("ES256 header, RSA certificate's kid", lambda r, p: forge({"alg": "ES256", "kid": thumbprint(p.load_cert("agency"))},
                                                              b"\0" * 64), "signature.algorithm_forbidden"),
    ("random signature under the right kid", lambda r, p: forge({"alg": "ES256",
                                                                 "kid": thumbprint(p.load_cert("agency-ec"))},
                                                                b"\1" * 64), "signature.invalid"),
    ("unknown kid", lambda r, p: forge({"alg": "ES256", "kid": "somebody-else"}, b"\0" * 64), "signature.unknown_key"),
    ("RS256 by a key the partner did not register", lambda r, p: jws.sign_detached(DEPARTMENT.encode(), "qlvb",
                                                                                 keyring=r), "signature.algorithm_forbidden"),
    ("ES256 by a key the partner did not register", lambda r, p: _es256_by_stranger(p), "signature.unknown_key"),
    ("jku header", lambda r, p: ES(r, extra_header={"jku": "https://evil.invalid/jwks"}), "signature.header_forbidden"),
    ("x5u header", lambda r, p: ES(r, extra_header={"x5u": "https://evil.invalid/c.pem"}), "signature.header_forbidden"),
    ("embedded jwk", lambda r, p: ES(r, extra_header={"jwk": {"kty": "oct", "k": "AAAA"}}), "signature.header_forbidden"),
    ("crit not understood", lambda r, p: ES(r, extra_header={"crit": ["exp"], "exp": 1}), "signature.header_forbidden"),
    ("embedded payload", lambda r, p: _embedded(r), "signature.malformed"),
    ("duplicate alg in header", lambda r, p: b64(b'{"alg":"ES256","alg":"none"}') + ".." + b64(b"x"),
     "signature.malformed"),
    ("not a JWS", lambda r, p: "a.b.c.d", "signature.malformed"),
    ("truncated signature", lambda r, p: ES(r)[:-4], {"signature.invalid", "signature.malformed"}),
    ("empty parts", lambda r, p: "..", {"signature.missing", "signature.malformed"}),
    ("signed over the NFD bytes of the text", lambda r, p: jws.sign_detached(
        unicodedata.normalize("NFD", DEPARTMENT).encode(), "agency-ec", keyring=r), "signature.invalid"),
]


def test_a_genuine_jws_passes_the_verify_step(edge_hub, ring):
    """Positive control: a correct ES256 detached JWS over the department is verified and delivered."""
    before = int(requests.get(edge_hub.sim_url + "/echo/_stats", timeout=10).json().get("requests", 0))
    mid = _send(edge_hub, _progress(ES(ring)))
    assert _settled(edge_hub, mid)[0] == "delivered"
    assert _db(edge_hub, "select count(*) from hops where message_id = ? and kind = 'verified'", mid) == [(1,)]
    assert int(requests.get(edge_hub.sim_url + "/echo/_stats", timeout=10).json().get("requests", 0)) == before + 1


def _refused_jws(edge_hub: HubProc, payload: dict, code) -> str:
    codes = code if isinstance(code, set) else {code}
    watch = Watch(edge_hub)
    watch.__enter__()
    mid = _send(edge_hub, payload)
    state, last_code, last_error = _settled(edge_hub, mid)
    watch.messages += 1                               # accepted by the API, then dead-lettered by its verify step
    watch.__exit__(None, None, None)                 # ... and nothing reached the partner
    assert (state, last_code) == ("dead", "delivery.verify_failed"), (state, last_code, last_error)
    assert any(f"[{c}]" in last_error for c in codes), last_error
    assert _db(edge_hub, "select count(*) from hops where message_id = ? and kind = 'verified'", mid) == [(0,)]
    assert_clean_text(last_error)
    shown = requests.get(edge_hub.url + f"/v1/messages/{mid}", headers=auth(), timeout=30)
    assert shown.status_code == 200 and "delivery.verify_failed" in shown.text
    assert_clean_text(shown.text)
    return mid


@pytest.mark.parametrize("name,make,code", JWS_CASES, ids=[c[0] for c in JWS_CASES])
def test_a_bad_jws_is_dead_lettered_with_its_code(edge_hub, ring, pki, name, make, code):
    _refused_jws(edge_hub, _progress(make(ring, pki)), code)


@pytest.mark.parametrize("department", ["Bộ phận Tư pháp - Hộ tịch, UBND Phường 2", DEPARTMENT + " ", DEPARTMENT[:-1]])
def test_a_jws_over_other_text_is_dead_lettered(edge_hub, ring, department):
    """Changed after signing, by a word, a trailing space or a dropped character: exact bytes only."""
    _refused_jws(edge_hub, _progress(ES(ring), department), "signature.invalid")


def test_a_jws_is_checked_against_the_nfc_text_the_gateway_stored(edge_hub, ring):
    """The gateway stores every string in NFC (hub/limits.py), and the verify step checks what was stored: the
    same text sent decomposed still matches a JWS over its NFC bytes (and what goes on is those bytes), while a
    JWS over the NFD bytes is refused (JWS_CASES)."""
    decomposed = unicodedata.normalize("NFD", DEPARTMENT)
    assert decomposed != DEPARTMENT
    mid = _send(edge_hub, _progress(ES(ring), decomposed))
    assert _settled(edge_hub, mid)[0] == "delivered"
    [(detail,)] = _db(edge_hub, "select detail from hops where message_id = ? and kind = 'verified'", mid)
    assert f"sha256={hashlib.sha256(DEPARTMENT.encode()).hexdigest()}" in detail, detail   # the NFC bytes


def test_zz_nothing_unmasked_in_this_hubs_log_metrics_traces_or_evidence(edge_hub):
    """Last in the module: the forged documents and tokens above carried a citizen id and a phone number."""
    from tests.security.test_zz_sweep import _clean
    _clean(edge_hub.log(), "the hub's log")
    _clean(requests.get(edge_hub.url + "/metrics", timeout=10).text, "/metrics")
    _clean(json.dumps(_axis(edge_hub, "/_stats")), "the axis's view of our refusals")
    for table, column in (("hops", "detail"), ("deliveries", "last_error"), ("dead_letters", "reason"),
                          ("signature_evidence", "data"), ("signature_evidence", "meta")):
        _clean("\n".join(str(row[0]) for row in _db(edge_hub, f"select {column} from {table}")), f"{table}.{column}")
    evidence = [row[0] for row in _db(edge_hub, "select data from signature_evidence")]
    assert evidence and all(value.startswith("f1:") for value in evidence), "signed documents at rest in clear"
