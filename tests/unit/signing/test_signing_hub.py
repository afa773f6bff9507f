"""Signing wired into the hub: config validation, route sign steps through the Pipeline, the REST connector
sending signed bytes as-is, evidence hops, inbound verification evidence, /healthz and `run.py keys`."""
from __future__ import annotations

import datetime as dt
import hashlib
# from-import, never `http.server.X`: importing eventlet.wsgi (hub.services) leaves the `http` package's
# `server` attribute pointing at eventlet's green copy, whose shutdown() then waits on a green lock forever
from http.server import BaseHTTPRequestHandler, HTTPServer
import json
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from lxml import etree

from hub import errors, registry
from hub.config import load_config
from hub.config.model import HubConfig, HubSettings, RouteConfig, Step
from hub.contracts import Connector, Delivery, InboundMessage, Reply, TransformContext
from hub.errors import ConfigError, HubError
from hub.message import Message, utcnow
from hub.pipeline import Pipeline
from hub.signing import jws, pki as pkimod, xmldsig
from hub.signing.errors import SignatureError, SigningError
from hub.signing.evidence import SignedBody
from hub.signing.keys import KeyRing, thumbprint
from hub.signing.service import DEFAULT_JWS_HEADER, SigningService
from hub.store import ClaimedDelivery
from tests.conftest import ROOT

EDXML_NS = xmldsig.EDXML


@registry.transforms.register("test-edxml-envelope")
def _edxml_envelope(payload: dict[str, Any], ctx: TransformContext) -> etree._Element:
    """A small edXML-like envelope (the real transform belongs to the document-exchange connector)."""
    env = etree.Element(f"{{{EDXML_NS}}}edXMLEnvelope", nsmap={"edXML": EDXML_NS})
    header = etree.SubElement(env, f"{{{EDXML_NS}}}edXMLHeader")
    etree.SubElement(header, f"{{{EDXML_NS}}}MessageHeader").text = payload["text"]
    etree.SubElement(etree.SubElement(env, f"{{{EDXML_NS}}}edXMLBody"), f"{{{EDXML_NS}}}Content").text = "Nội dung văn bản"
    return env


class FakeConnector(Connector):
    type_name = "fake"

    def __init__(self) -> None:
        super().__init__("fake", {}, None)  # type: ignore[arg-type]
        self.sent: list[Delivery] = []

    def send(self, delivery: Delivery) -> Reply:
        self.sent.append(delivery)
        return Reply(status=200)


def _attempt(route: RouteConfig, service: SigningService, connector: Connector,
             payload: dict[str, Any]) -> tuple[Any, list]:
    config = HubConfig(directory="config", settings=HubSettings(), clients={}, connectors={}, routes=(route,))
    pipeline = Pipeline(config, {connector.name: connector}, signer=service.sign)
    message = Message(id="m-1", type="demo.ping", source="demo", payload=payload)
    claimed = ClaimedDelivery(id="d-1", message=message, route=route.name, connector=connector.name, attempts=1,
                              window_start=utcnow())
    return pipeline.attempt(claimed)


def _signed_hop(hops: list) -> Any:
    [hop] = [h for h in hops if h.kind == "signed"]
    return hop


# --- route sign steps through the Pipeline -------------------------------------------------------------

@pytest.mark.parametrize("key, alg", [("agency", "rsa-sha256"), ("agency-ec", "ecdsa-sha256")])
def test_xml_route_signs_enveloped_at_the_configured_location(keyring: KeyRing, key: str, alg: str) -> None:
    route = RouteConfig(name="edxml-out", types=("demo.ping",), to="fake", steps=(
        Step("transform", "test-edxml-envelope"),
        Step("sign", key, {"signature_parent": xmldsig.EDXML_SIGNATURE_PARENT})))
    fake = FakeConnector()
    outcome, hops = _attempt(route, SigningService(keyring), fake, {"text": "Hồ sơ 000.00.14.H20-250101-0001"})
    assert outcome.state == "delivered"
    body = fake.sent[0].body
    assert isinstance(body, SignedBody) and body.content_type.startswith("application/xml")
    result = xmldsig.verify(body.data, "agency", xmldsig.EDXML_SIGNATURE, keyring=keyring)
    assert result.signed_root.findtext(f".//{{{EDXML_NS}}}Content") == "Nội dung văn bản"
    cert = keyring.signing_key(key).certificate
    detail = _signed_hop(hops).detail
    for fragment in (f"key={key}", "format=xmldsig", f"alg={alg}", f"serial={cert.serial_number:x}",
                     f"x5t#S256={thumbprint(cert)}", f"sha256={hashlib.sha256(body.data).hexdigest()}"):
        assert fragment in detail
    tampered = body.data.replace("Nội dung".encode(), "Noi dung".encode())
    with pytest.raises(SignatureError) as exc:
        xmldsig.verify(tampered, "agency", xmldsig.EDXML_SIGNATURE, keyring=keyring)
    assert exc.value.code == errors.SIG_INVALID


def test_json_route_sends_detached_jws_over_the_exact_bytes(keyring: KeyRing) -> None:
    """Through the real REST connector to a loopback server: the bytes received verify with the header."""
    from connectors.rest import RestConnector
    received: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            received["body"] = self.rfile.read(int(self.headers["Content-Length"]))
            received["headers"] = dict(self.headers)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": true}')

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        connector = RestConnector("partner", {"url": f"http://127.0.0.1:{server.server_port}/in"}, None)  # type: ignore[arg-type]
        route = RouteConfig(name="json-out", types=("demo.ping",), to="partner", steps=(
            Step("sign", "agency-ec", {"format": "jws", "header": "X-Partner-JWS"}),))
        outcome, hops = _attempt(route, SigningService(keyring), connector, {"text": "Xin chào", "n": 1})
        connector.stop()
    finally:
        server.shutdown()
        server.server_close()
    assert outcome.state == "delivered", outcome
    body, headers = received["body"], received["headers"]
    assert json.loads(body) == {"text": "Xin chào", "n": 1} and headers["Idempotency-Key"] == "d-1"
    verified = jws.verify_detached(headers["X-Partner-JWS"], body, "agency", keyring=keyring)
    assert verified.alg == "ES256"
    with pytest.raises(SignatureError):
        jws.verify_detached(headers["X-Partner-JWS"], body.replace(b"1", b"2"), "agency", keyring=keyring)
    detail = _signed_hop(hops).detail
    assert "format=jws alg=ES256" in detail and f"sha256={hashlib.sha256(body).hexdigest()}" in detail


def test_sign_step_with_an_unusable_key_dead_letters_with_the_reason(keyring: KeyRing) -> None:
    route = RouteConfig(name="r", types=("demo.ping",), to="fake", steps=(Step("sign", "nokey", {"format": "jws"}),))
    fake = FakeConnector()
    outcome, hops = _attempt(route, SigningService(keyring), fake, {"text": "x"})
    assert outcome.state == "dead" and outcome.code == errors.DLV_SIGN and "signature.key_unavailable" in outcome.error
    assert not fake.sent


def test_signing_errors_are_hub_errors() -> None:
    exc = SignatureError(errors.SIG_WRAPPING, "moved element")
    assert isinstance(exc, HubError) and isinstance(exc, SigningError)
    assert exc.status == 401 and exc.problem()["code"] == "signature.wrapping" and exc.fix
    assert errors.lookup("checksum.mismatch").status == 401


# --- inbound: verification leaves a `verified` hop ---------------------------------------------------------

def test_inbound_jws_verification_evidence_becomes_a_verified_hop(keyring: KeyRing, tmp_path: Path) -> None:
    from hub.gateway import Gateway
    from hub.schemas import default_catalog
    from hub.store import Store
    service = SigningService(keyring)
    body = json.dumps({"text": "callback"}).encode()
    token = jws.sign_detached(body, "agency", keyring=keyring)   # the "partner" here holds the agency key
    _, evidence = service.verify_jws_request({DEFAULT_JWS_HEADER.lower(): token}, body, "agency")
    with pytest.raises(SignatureError) as exc:
        service.verify_jws_request({}, body, "agency")
    assert exc.value.code == errors.SIG_MISSING

    store = Store(f"sqlite:///{tmp_path}/hub.db")
    store.migrate()
    config = HubConfig(directory="config", settings=HubSettings(), clients={}, connectors={},
                       routes=(RouteConfig(name="in", types=("demo.ping",), to="echo"),))
    gateway = Gateway(config, store, default_catalog(), lambda refs: None)
    mid = gateway.ingest("partner", InboundMessage(type="demo.ping", payload={"text": "callback"},
                                                   evidence=[str(evidence)]))
    record = store.message(mid)
    store.close()
    [hop] = [h for h in record["hops"] if h["kind"] == "verified"]
    cert = keyring.trust("agency").jws_keys[thumbprint(keyring.signing_key("agency").certificate)]
    assert f"serial={cert.serial_number:x}" in hop["detail"] and hashlib.sha256(body).hexdigest() in hop["detail"]


# --- config validation --------------------------------------------------------------------------------------

def _problems(config_dir: Path) -> list:
    with pytest.raises(ConfigError) as info:
        load_config(config_dir)
    return info.value.problems


def _line(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_config_refuses_a_literal_password_without_echoing_it(config_dir: Path) -> None:
    hub_yaml = config_dir / "hub.yaml"
    _replace(hub_yaml, "agency: {sandbox: agency}", "agency: {sandbox: agency, password: hunter2}")
    [p] = _problems(config_dir)
    assert p.file == "hub.yaml" and p.line == _line(hub_yaml, "hunter2")
    assert "signing.keys.agency.password" in p.message and "password_env" in p.fix
    assert "hunter2" not in p.message + p.fix


def test_config_names_a_missing_key_file_and_an_unset_password_variable(config_dir: Path, monkeypatch) -> None:
    monkeypatch.delenv("HUB_TEST_KEY_PASSWORD", raising=False)
    hub_yaml = config_dir / "hub.yaml"
    _replace(hub_yaml, "agency-ec: {sandbox: agency-ec}",
             "agency-ec:\n      pem_key: keys/missing.key.pem\n      pem_cert: keys/missing.cert.pem\n"
             "      password_env: HUB_TEST_KEY_PASSWORD")
    problems = _problems(config_dir)
    by_message = {p.message: p for p in problems}
    key_missing = next(p for m, p in by_message.items() if "pem_key" in m and "keys/missing.key.pem does not exist" in m)
    assert key_missing.line == _line(hub_yaml, "missing.key.pem")
    unset = next(p for m, p in by_message.items() if "HUB_TEST_KEY_PASSWORD is not set" in m)
    assert unset.line == _line(hub_yaml, "password_env: HUB_TEST_KEY_PASSWORD") and "export" in unset.fix


def test_config_checks_sign_steps_and_trust_stores(config_dir: Path) -> None:
    routes = config_dir / "routes.yaml"
    _replace(routes, "      - transform: identity\n", "      - transform: identity\n      - sign: agnecy\n"
                                                       "        options: {format: pdf}\n")
    _replace(config_dir / "hub.yaml", "sms: {sandbox: sms}", "sms: {sandbox: sms-center, jws_algs: [HS256]}")
    problems = _problems(config_dir)
    texts = [f"{p.file}:{p.line}: {p.message} | {p.fix}" for p in problems]
    assert any(t.startswith(f"routes.yaml:{_line(routes, 'sign: agnecy')}:") and "'agnecy'" in t and "agency" in t
               for t in texts)
    assert any("format 'pdf'" in t for t in texts)
    assert any("signing.trust.sms.sandbox: no sandbox key 'sms-center'" in t for t in texts)
    assert any("signing.trust.sms.jws_algs: 'HS256' not allowed" in t for t in texts)


# --- operations: /healthz and `run.py keys` -----------------------------------------------------------------

def _write_key(pki: pkimod.SandboxPKI, directory: Path, name: str, days_to: int, days_from: int = -1) -> dict[str, str]:
    key, cert = pkimod.make_cert(pki, name, days_from=days_from, days_to=days_to)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (directory / f"{name}.cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return {"pem_key": str(directory / f"{name}.key.pem"), "pem_cert": str(directory / f"{name}.cert.pem")}


def _config_with_keys(config_dir: Path, pki: pkimod.SandboxPKI, keys: dict[str, dict[str, str]]) -> Path:
    """The sandbox config with the session's PKI (no regeneration) and extra keys."""
    hub_yaml = config_dir / "hub.yaml"
    text = hub_yaml.read_text().replace("sandbox_pki: var/pki", f"sandbox_pki: {pki.directory}")
    extra = "".join(f"    {name}: {json.dumps(spec)}\n" for name, spec in keys.items())
    text = text.replace("    agency-ec: {sandbox: agency-ec}   # ECDSA P-256: XML-DSig ecdsa-sha256, JWS ES256\n",
                        "    agency-ec: {sandbox: agency-ec}   # ECDSA P-256: XML-DSig ecdsa-sha256, JWS ES256\n" + extra)
    assert extra in text
    hub_yaml.write_text(text)
    return config_dir


def test_healthz_is_red_when_a_signing_key_cannot_sign(config_dir: Path, pki: pkimod.SandboxPKI,
                                                       tmp_path: Path) -> None:
    from hub.runtime import HubRuntime
    _config_with_keys(config_dir, pki, {"old": _write_key(pki, tmp_path / "keys", "old", -5, -100)})
    runtime = HubRuntime(load_config(config_dir, overrides={"store": f"sqlite:///{tmp_path}/hub.db"}))
    try:
        runtime.store.migrate()
        report = runtime.health()
    finally:
        runtime.stop()
    assert report["status"] != "ok"
    assert report["signing"]["state"] == "down" and "old" in report["signing"]["detail"]
    assert "expired" in report["signing"]["detail"]


def _keys_cli(config_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), "keys", "--config", str(config_dir), *args],
                          capture_output=True, text=True, timeout=60, cwd=config_dir.parent)


def test_keys_command_lists_and_warns_30_days_ahead(config_dir: Path, pki: pkimod.SandboxPKI, tmp_path: Path) -> None:
    _config_with_keys(config_dir, pki, {"soon": _write_key(pki, tmp_path / "keys", "soon", 12)})
    result = _keys_cli(config_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {tuple(re.split(r"\s{2,}", line)[:2]): line for line in result.stdout.splitlines()}
    soon = rows[("key", "soon")]
    assert "CN=soon" in soon and "issuing CA" in soon and re.search(r"\b1[12]\b", soon) and "WARNING: expires in" in soon
    assert "WARNING: 1 certificate(s) expire within 30 days" in result.stdout
    assert "ok" in rows[("key", "agency")] and ("trust-pinned", "qlvb") in rows
    as_json = json.loads(_keys_cli(config_dir, "--json").stdout)
    [entry] = [e for e in as_json["entries"] if e["owner"] == "soon" and e["kind"] == "key"]
    assert entry["days_left"] in (11, 12) and entry["not_after"][:10] == (
        dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=12)).date().isoformat()


def test_keys_command_fails_when_a_signing_key_is_unusable(config_dir: Path, pki: pkimod.SandboxPKI,
                                                           tmp_path: Path) -> None:
    _config_with_keys(config_dir, pki, {"old": _write_key(pki, tmp_path / "keys", "old", -5, -100)})
    result = _keys_cli(config_dir)
    assert result.returncode == 1
    assert "ERROR: signing key old cannot sign: certificate expired" in result.stdout
    assert re.search(r"key\s+old\s+.*WARNING: expired \d+ day\(s\) ago", result.stdout)


def test_production_check_refuses_the_sandbox_pki() -> None:
    from hub.check import production_problems
    problems = production_problems(load_config(ROOT / "config"))
    assert any("signing.sandbox_pki is set" in p for p in problems)
    assert any("signing.keys.agency uses the sandbox PKI" in p for p in problems)
