"""Evidence bundles: a route signs a document, `run.py evidence ID` exports the exact bytes, signature,
certificates and trace, and `run.py evidence --verify` checks the zip offline; any tampering fails it."""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from hub.commands import evidence as evidence_cmd
from hub.config.model import HubConfig, HubSettings, RouteConfig, Step
from hub import registry
from hub.contracts import Connector, Delivery, InboundMessage, Reply, TransformContext
from hub.message import Message, utcnow
from hub.pipeline import Pipeline
from hub.signing import bundle, jws, xmldsig
from hub.signing.keys import KeyRing
from hub.signing.service import DEFAULT_JWS_HEADER, SigningService
from hub.store import Store
from hub.store.evidence import evidence_for
from tests.conftest import ROOT


@registry.transforms.register("test-evidence-envelope")
def _edxml_envelope(payload: dict[str, Any], ctx: TransformContext) -> etree._Element:
    env = etree.Element(f"{{{xmldsig.EDXML}}}edXMLEnvelope", nsmap={"edXML": xmldsig.EDXML})
    etree.SubElement(etree.SubElement(env, f"{{{xmldsig.EDXML}}}edXMLHeader"), f"{{{xmldsig.EDXML}}}MessageHeader")
    etree.SubElement(env, f"{{{xmldsig.EDXML}}}edXMLBody").text = "Nội dung: " + payload["text"]
    return env


class FakeConnector(Connector):
    type_name = "fake"

    def __init__(self) -> None:
        super().__init__("fake", {}, None)  # type: ignore[arg-type]
        self.sent: list[Delivery] = []

    def send(self, delivery: Delivery) -> Reply:
        self.sent.append(delivery)
        return Reply(status=200)


def _signed_message(store: Store, keyring: KeyRing, steps: tuple[Step, ...]) -> tuple[str, bytes]:
    """Accept a message, run its delivery through a signing route and record the outcome, like a dispatcher."""
    route = RouteConfig(name="out", types=("demo.ping",), to="fake", steps=steps)
    config = HubConfig(directory="config", settings=HubSettings(), clients={}, connectors={}, routes=(route,))
    fake = FakeConnector()
    pipeline = Pipeline(config, {"fake": fake}, signer=SigningService(keyring).sign)
    message = Message(id="m-ev-1", type="demo.ping", source="demo", payload={"text": "Hồ sơ của công dân"})
    accepted = store.accept(message, "digest", [("out", "fake")], [])
    claimed = store.claim(accepted.deliveries[0].id, 30)
    assert claimed is not None
    outcome, hops = pipeline.attempt(claimed)
    store.finish(claimed, outcome, hops)
    assert outcome.state == "delivered", outcome
    return message.id, fake.sent[0].body.data


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    s = Store(f"sqlite:///{tmp_path}/hub.db")
    s.migrate()
    yield s
    s.close()


def _export(store: Store, mid: str, out: Path) -> int:
    return evidence_cmd.export(argparse.Namespace(config=str(ROOT / "config"), store=store.url, id=mid, output=str(out)))


def _verify_cli(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "run.py", "evidence", "--verify", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def _rezip(src: Path, dst: Path, member: str, change: Any) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            data = zin.read(name)
            zout.writestr(name, change(data) if name == member else data)


def test_xml_evidence_exports_and_verifies_offline_and_tampering_fails(store: Store, keyring: KeyRing,
                                                                       tmp_path: Path) -> None:
    mid, sent = _signed_message(store, keyring, (
        Step("transform", "test-evidence-envelope"),
        Step("sign", "agency", {"signature_parent": xmldsig.EDXML_SIGNATURE_PARENT})))
    [row] = evidence_for(store, mid)
    assert row["data"] == sent and row["action"] == "signed" and row["sha256"] == hashlib.sha256(sent).hexdigest()
    with store.engine.connect() as conn:   # encrypted at rest: the document's text is not in the database
        raw = conn.exec_driver_sql("select data from signature_evidence").scalar()
    assert raw.startswith("f1:") and "công dân".encode() not in raw.encode()

    path = tmp_path / "bundle.zip"
    assert _export(store, mid, path) == 0
    with zipfile.ZipFile(path) as zf:
        assert zf.read("evidence/1/data.bin") == sent
        assert zf.read("evidence/1/ca.pem").startswith(b"-----BEGIN CERTIFICATE-----")
        assert len(zf.read("evidence/1/certificates.pem").split(b"-----BEGIN CERTIFICATE-----")) == 3  # leaf + issuing CA
        trace = json.loads(zf.read("trace.json"))
        assert [h["kind"] for h in trace["hops"]][-3:] == ["signed", "answered", "delivered"]
    done = _verify_cli(path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "VERDICT: OK" in done.stdout and "FAIL" not in done.stdout

    # one byte of the signed document changed, zip rebuilt consistently: the digest and the signature fail
    def flip(data: bytes) -> bytes:
        i = data.index("Nội".encode())
        return data[:i] + b"N" + b"o" + data[i + len("Nộ".encode()):]
    tampered = tmp_path / "tampered.zip"
    _rezip(path, tampered, "evidence/1/data.bin", flip)
    bad = _verify_cli(tampered)
    assert bad.returncode == 1 and "VERDICT: FAILED" in bad.stdout
    assert "digest" in bad.stdout and "signature.invalid" in bad.stdout

    # one byte flipped in the zip file itself: the archive's CRC catches it
    blob = bytearray(path.read_bytes())
    offset = blob.index(b"evidence/1/data.bin") + 60
    blob[offset] ^= 0x01
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(bytes(blob))
    assert _verify_cli(corrupt).returncode == 1


def test_jws_evidence_and_a_swapped_ca_fail(store: Store, keyring: KeyRing, pki: Any, tmp_path: Path) -> None:
    mid, sent = _signed_message(store, keyring, (Step("sign", "agency-ec", {"format": "jws"}),))
    data = bundle.build(mid, store.message(mid), evidence_for(store, mid))
    checks = bundle.verify(data)
    assert checks and all(c.ok for c in checks), [str(c) for c in checks]
    path = tmp_path / "b.zip"
    path.write_bytes(data)
    # a CA the signer does not chain to: untrusted, whatever the digests say
    from hub.signing.pki import make_untrusted_cert
    from cryptography.hazmat.primitives import serialization
    _, other = make_untrusted_cert("other-ca")
    swapped = tmp_path / "swapped.zip"
    _rezip(path, swapped, "evidence/1/ca.pem", lambda _: other.public_bytes(serialization.Encoding.PEM))
    failed = [str(c) for c in bundle.verify(swapped.read_bytes()) if not c.ok]
    assert failed and "signature.certificate_untrusted" in failed[0]
    # the JWS itself replaced by one over other bytes
    token = jws.sign_detached(b"{}", "agency-ec", keyring=keyring)
    forged = tmp_path / "forged.zip"
    _rezip(path, forged, "evidence/1/signature.jws", lambda _: token.encode())
    assert any("signature.invalid" in str(c) for c in bundle.verify(forged.read_bytes()) if not c.ok)


def test_inbound_verified_evidence_is_kept_with_its_bytes(store: Store, keyring: KeyRing) -> None:
    from hub.gateway import Gateway
    from hub.schemas import default_catalog
    service = SigningService(keyring)
    body = json.dumps({"text": "callback"}).encode()
    token = jws.sign_detached(body, "agency", keyring=keyring)
    _, evidence = service.verify_jws_request({DEFAULT_JWS_HEADER: token}, body, "agency")
    config = HubConfig(directory="config", settings=HubSettings(), clients={}, connectors={},
                       routes=(RouteConfig(name="in", types=("demo.ping",), to="echo"),))
    gateway = Gateway(config, store, default_catalog(), lambda refs: None)
    mid = gateway.ingest("partner", InboundMessage(type="demo.ping", payload={"text": "callback"}, evidence=[evidence]))
    [row] = evidence_for(store, mid)
    assert row["action"] == "verified" and row["data"] == body and row["signature"] == token
    checks = bundle.verify(bundle.build(mid, store.message(mid), [row]))
    assert checks and all(c.ok for c in checks), [str(c) for c in checks]


def test_verify_refuses_an_empty_or_foreign_zip(tmp_path: Path) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("hello.txt", "x")
    assert not all(c.ok for c in bundle.verify(out.getvalue()))
    assert not bundle.verify(b"not a zip")[0].ok


@pytest.mark.parametrize("trust", ["agency", "agency-ca"])   # pinned certificate, or chain to the sandbox root
def test_inbound_xml_evidence_verifies_offline_against_the_partners_trust(store: Store, keyring: KeyRing,
                                                                           trust: str) -> None:
    root = etree.Element("Document")
    etree.SubElement(root, "Content").text = "Văn bản đến"
    data = etree.tostring(xmldsig.sign_enveloped(root, "agency", keyring=keyring))
    _, evidence = SigningService(keyring).verify_xml(data, trust, "/*/ds:Signature")
    record = {"hops": [{"kind": "verified", "detail": str(evidence)}], "deliveries": []}
    row = {"data": data, "certificates": "".join(evidence.certificates), "anchors": "".join(evidence.anchors),
           "signature": None, "action": "verified", "format": "xmldsig", "sha256": evidence.sha256,
           "at": utcnow(),
           "delivery_id": None, "meta": {"key": trust, "thumbprint": evidence.thumbprint, "location": evidence.location}}
    checks = bundle.verify(bundle.build("m-in", record, [row]))
    assert checks and all(c.ok for c in checks), [str(c) for c in checks]
