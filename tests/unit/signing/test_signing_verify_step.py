"""The route ``verify`` step: a signed document carried in a canonical payload field is verified against a
trust store; success leaves a `verified` hop with evidence, failure dead-letters with the signature code."""
from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from hub import errors
from hub.config import load_config
from hub.config.model import HubConfig, HubSettings, RouteConfig, Step
from hub.contracts import Connector, Delivery, Reply
from hub.errors import ConfigError
from hub.message import Message, utcnow
from hub.pipeline import Pipeline
from hub.signing import jws, xmldsig
from hub.signing.keys import KeyRing
from hub.signing.service import SigningService
from hub.store import ClaimedDelivery


class Recorder(Connector):
    type_name = "recorder"

    def __init__(self) -> None:
        super().__init__("recorder", {}, None)  # type: ignore[arg-type]
        self.sent: list[Delivery] = []

    def send(self, delivery: Delivery) -> Reply:
        self.sent.append(delivery)
        return Reply(status=200)


def _run(keyring: KeyRing, steps: tuple[Step, ...], payload: dict[str, Any]) -> tuple[Any, list, Recorder]:
    route = RouteConfig(name="in-signed", types=("demo.ping",), to="recorder", steps=steps)
    config = HubConfig(directory="config", settings=HubSettings(), clients={}, connectors={}, routes=(route,))
    service = SigningService(keyring)
    recorder = Recorder()
    pipeline = Pipeline(config, {"recorder": recorder}, signer=service.sign, verifier=service.verify_step)
    message = Message(id="m-v", type="demo.ping", source="demo", payload=payload)
    claimed = ClaimedDelivery(id="m-v/in-signed", message=message, route=route.name, connector="recorder",
                              attempts=1, window_start=utcnow())
    outcome, hops = pipeline.attempt(claimed)
    return outcome, hops, recorder


def _signed_xml(keyring: KeyRing, text: str = "Quyết định cấp phép") -> str:
    root = etree.Element("Document")
    etree.SubElement(root, "Content").text = text
    return etree.tostring(xmldsig.sign_enveloped(root, "agency", keyring=keyring), encoding="unicode")


def test_a_valid_xml_document_passes_with_a_verified_hop(keyring: KeyRing) -> None:
    document = _signed_xml(keyring)
    payload = {"text": "x", "document": {"xml": document}}
    outcome, hops, recorder = _run(keyring, (Step("verify", "agency", {"field": "document.xml"}),), payload)
    assert outcome.state == "delivered" and recorder.sent[0].body == payload   # the body goes on unchanged
    [hop] = [h for h in hops if h.kind == "verified"]
    assert "format=xmldsig alg=rsa-sha256" in hop.detail
    assert f"sha256={hashlib.sha256(document.encode()).hexdigest()}" in hop.detail
    assert hop.evidence.data == document.encode() and hop.evidence.action == "verified"


@pytest.mark.parametrize("change, code", [
    (lambda doc: doc.replace("cấp phép", "thu hồi"), errors.SIG_INVALID),
    (lambda doc: None, errors.SIG_MISSING),
])
def test_a_bad_document_is_dead_lettered_with_its_signature_code(keyring: KeyRing, change: Any, code: str) -> None:
    payload = {"text": "x", "document": {"xml": change(_signed_xml(keyring))}}
    outcome, hops, recorder = _run(keyring, (Step("verify", "agency", {"field": "document.xml"}),), payload)
    assert outcome.state == "dead" and outcome.code == errors.DLV_VERIFY and f"[{code}]" in outcome.error
    assert not recorder.sent and not [h for h in hops if h.kind == "verified"]
    assert [h.kind for h in hops][-2:] == ["failed", "dead_lettered"]


def test_an_untrusted_signer_is_refused(keyring: KeyRing) -> None:
    payload = {"text": "x", "xml": _signed_xml(keyring)}
    outcome, _, recorder = _run(keyring, (Step("verify", "qlvb", {"field": "xml"}),), payload)  # qlvb pins its own leaf
    assert outcome.state == "dead" and errors.SIG_CERT_UNTRUSTED in outcome.error and not recorder.sent


def test_jws_over_base64_bytes(keyring: KeyRing) -> None:
    data = "Biên lai điện tử".encode()
    token = jws.sign_detached(data, "agency-ec", keyring=keyring)
    options = {"field": "content", "base64": True, "format": "jws", "jws_field": "jws"}
    payload = {"text": "x", "content": base64.b64encode(data).decode(), "jws": token}
    outcome, hops, _ = _run(keyring, (Step("verify", "agency", options),), payload)
    assert outcome.state == "delivered"
    assert "format=jws alg=ES256" in next(h.detail for h in hops if h.kind == "verified")
    payload["content"] = base64.b64encode(data + b".").decode()
    outcome, _, _ = _run(keyring, (Step("verify", "agency", options),), payload)
    assert outcome.code == errors.DLV_VERIFY and errors.SIG_INVALID in outcome.error


def test_config_loads_verify_steps_and_names_their_mistakes(config_dir: Path) -> None:
    routes = config_dir / "routes.yaml"
    text = routes.read_text()
    step = "      - transform: identity\n"
    assert step in text
    routes.write_text(text.replace(step, step + "      - verify: province-agencies\n        options: {field: xml}\n", 1))
    config = load_config(config_dir)
    assert any(s.kind == "verify" and s.name == "province-agencies" and s.options == {"field": "xml"}
               for r in config.routes for s in r.steps)
    routes.write_text(text.replace(step, step + "      - verify: nobody\n        options: {format: jws, colour: red}\n", 1))
    with pytest.raises(ConfigError) as info:
        load_config(config_dir)
    messages = " | ".join(f"{p.message} {p.fix}" for p in info.value.problems)
    for fragment in ("trust store 'nobody'", "option 'colour'", "needs option 'field'", "needs option 'jws_field'"):
        assert fragment in messages
