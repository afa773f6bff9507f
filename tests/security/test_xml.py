"""Family 3 (XML) through hub/xmlsafe.py, the one parser, and family 4 (signatures) through xmldsig.verify."""
from __future__ import annotations

import pytest

from hub import xmlsafe
from hub.limits import Limits
from hub.signing import xmldsig
from hub.signing.errors import SignatureError

LAUGHS = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><lolz>&lol3;</lolz>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>"""
XXE_NET = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]><r>&x;</r>"""
DTD_EXTERNAL = b"""<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:9/r.dtd"><r/>"""
PARAM_ENTITY = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><r/>"""
XINCLUDE = b"""<r xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file:///etc/passwd" parse="text"/></r>"""

REFUSED = [("billion laughs", LAUGHS), ("external entity (file)", XXE), ("external entity (network)", XXE_NET),
           ("external DTD", DTD_EXTERNAL), ("parameter entity", PARAM_ENTITY),
           ("deep nesting", b"<a>" * 100 + b"</a>" * 100), ("malformed", b"<a><b></a>"),
           ("not xml", b"{\"json\": true}"), ("empty", b""), ("truncated", b"<?xml version='1.0'?><a"),
           ("two roots", b"<a/><b/>"), ("utf-16 with doctype", LAUGHS.decode().encode("utf-16"))]


@pytest.mark.parametrize("name,data", REFUSED, ids=[c[0] for c in REFUSED])
def test_xml_refused_with_its_code(name, data):
    with pytest.raises(xmlsafe.XmlRefused) as caught:
        xmlsafe.parse(data)
    assert caught.value.code == "xml.refused" and "root:" not in caught.value.detail


def test_xinclude_is_never_processed():
    root = xmlsafe.parse(XINCLUDE)
    assert b"root:" not in __import__("lxml.etree", fromlist=["tostring"]).tostring(root)


def test_size_limit():
    with pytest.raises(xmlsafe.XmlRefused, match="larger"):
        xmlsafe.parse(b"<a>" + b"x" * 5000 + b"</a>", Limits(xml_bytes=1024))


def test_a_normal_document_parses():
    assert xmlsafe.parse("<a><b>Việt Nam</b></a>".encode()).findtext("b") == "Việt Nam"


class _NoTrustNeeded:
    """The document is refused while parsing, before any trust store is used."""

    def trust(self, partner: str) -> object:
        return object()


@pytest.mark.parametrize("data", [LAUGHS, XXE, DTD_EXTERNAL, b"<a>" * 100 + b"</a>" * 100])
def test_signature_verification_refuses_before_any_crypto(data):
    with pytest.raises(SignatureError) as caught:
        xmldsig.verify(data, "qlvb", xmldsig.EDXML_SIGNATURE, keyring=_NoTrustNeeded())  # type: ignore[arg-type]
    assert caught.value.code == "signature.malformed"


def test_every_xml_parse_in_the_hub_goes_through_xmlsafe():
    """No other XML parser is built in the product code (simulators of partners included)."""
    import pathlib
    import re
    root = pathlib.Path(__file__).resolve().parents[2]
    offenders = []
    for folder in ("hub", "connectors", "transforms"):
        for path in (root / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if path.name != "xmlsafe.py" and re.search(r"etree\.XMLParser\(|etree\.parse\(|iterparse\(", text):
                offenders.append(str(path.relative_to(root)))
    assert offenders == []


def test_zeep_is_built_safe():
    from connectors.dancu import safe_settings
    s = safe_settings()
    assert s.forbid_dtd and s.forbid_entities and s.forbid_external and not s.xml_huge_tree and s.strict
