"""SigningService's per-message shortcuts: a document it parsed itself is signed without a copy, and what every
signature by one key repeats in its evidence (subject, serial, thumbprint, PEM chain and anchor) is worked out once
per key - and again when the key ring hands out another key."""
from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from hub.signing import service as service_module
from hub.signing import xmldsig
from hub.signing.keys import KeyRing, thumbprint
from hub.signing.service import SigningService
from hub.signing.xmldsig import EDXML_SIGNATURE, EDXML_SIGNATURE_PARENT
from tests.unit.signing.test_signing_xmldsig import edxml


class SwitchableRing:
    """The session's key ring, but ``signing_key`` answers with the key named in ``use``: a rotation."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring, self.use = ring, "agency"

    def signing_key(self, _name: str) -> Any:
        return self.ring.signing_key(self.use)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ring, name)


def test_bytes_are_signed_in_the_tree_parsed_for_them_and_an_element_is_left_alone(keyring: KeyRing) -> None:
    service = SigningService(keyring)
    doc = edxml()
    before = etree.tostring(doc)
    from_element = service.sign_xml(doc, "agency", EDXML_SIGNATURE_PARENT)
    assert etree.tostring(doc) == before                     # the caller's element: signed as a copy
    from_bytes = service.sign_xml(before, "agency", EDXML_SIGNATURE_PARENT)
    for body in (from_element, from_bytes):
        result = xmldsig.verify(body.data, "agency", EDXML_SIGNATURE, keyring=keyring)
        assert result.signed_root.findtext(f".//{{{xmldsig.EDXML}}}Subject") == "Quyết định cấp phép"


def test_the_keys_evidence_fields_are_worked_out_once(keyring: KeyRing, monkeypatch: pytest.MonkeyPatch) -> None:
    encoded: list[object] = []
    real = service_module._pem
    monkeypatch.setattr(service_module, "_pem", lambda cert: encoded.append(cert) or real(cert))
    service = SigningService(keyring)
    first = service.sign_xml(etree.tostring(edxml()), "agency", EDXML_SIGNATURE_PARENT).evidence
    after_first = len(encoded)
    second = service.sign_xml(etree.tostring(edxml()), "agency", EDXML_SIGNATURE_PARENT).evidence
    service.sign_json(b'{"a": 1}', "agency")
    assert after_first > 0 and len(encoded) == after_first   # the PEM chain and anchor: not again
    assert (first.certificates, first.anchors, first.thumbprint) == (second.certificates, second.anchors,
                                                                     second.thumbprint)


def test_another_key_from_the_ring_is_worked_out_again(keyring: KeyRing) -> None:
    ring = SwitchableRing(keyring)
    service = SigningService(ring)   # type: ignore[arg-type]
    rsa = service.sign_xml(etree.tostring(edxml()), "agency", EDXML_SIGNATURE_PARENT).evidence
    ring.use = "agency-ec"
    ec = service.sign_xml(etree.tostring(edxml()), "agency", EDXML_SIGNATURE_PARENT)
    assert rsa.thumbprint == thumbprint(keyring.signing_key("agency").certificate) and rsa.algorithm == "rsa-sha256"
    assert ec.evidence.thumbprint == thumbprint(keyring.signing_key("agency-ec").certificate)
    assert ec.evidence.algorithm == "ecdsa-sha256" and ec.evidence.subject.startswith("CN=agency-ec")
    assert ec.evidence.certificates[0] != rsa.certificates[0]
    assert xmldsig.verify(ec.data, "agency", EDXML_SIGNATURE, keyring=keyring).signer_subject.startswith("CN=agency-ec")
    jws = service.sign_json(b"{}", "agency").evidence
    assert jws.algorithm == "ES256" and jws.thumbprint == ec.evidence.thumbprint
