"""The hub's one signing service per process: the KeyRing loaded once, the route ``sign`` step, the checks
connectors call in ``inbound()``, and the signing part of ``/healthz``.

Route step (``config/routes.yaml``)::

    steps:
      - transform: edxml
      - sign: agency                      # a key under signing.keys in hub.yaml
        options:
          format: xmldsig                 # or jws; default: by body (XML element or bytes starting '<' -> xmldsig)
          signature_parent: /edXML:edXMLEnvelope/edXML:edXMLHeader   # XPath; prefixes ds and edXML predefined
          namespaces: {x: "urn:..."}      # more prefixes for signature_parent
          header: X-JWS-Signature         # jws: the HTTP header carrying the detached JWS
          unencoded: false                # jws: RFC 7797 b64=false

The step returns a :class:`~hub.signing.evidence.SignedBody`; connectors send its ``data`` and ``headers``
as they are. Its ``evidence`` becomes the detail of the delivery's ``signed`` hop.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from signxml import SignatureMethod

from hub.signing import jws, xmldsig
from hub.signing.config import base_dir
from hub.signing.errors import MALFORMED, MISSING, SignatureError
from hub.signing.evidence import Evidence, SignedBody
from hub.signing.keys import KeyRing, SigningKey, thumbprint

DEFAULT_JWS_HEADER = "X-JWS-Signature"
XML_CONTENT_TYPE = "application/xml; charset=utf-8"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _signature_location(signature_parent: str | None) -> str:
    return (signature_parent or "/*") + "/ds:Signature"


def _field(body: Any, path: str) -> Any:
    """``a.b`` in a dict payload; None when absent (the verification then fails as ``signature.missing``)."""
    value = body
    for part in path.split(".") if path else ():
        value = value.get(part) if isinstance(value, Mapping) else None
    return value if path else None


def _field_bytes(body: Any, path: str, is_base64: bool) -> bytes:
    value = _field(body, path)
    if not isinstance(value, str) or not value:
        raise SignatureError(MISSING, f"payload field {path!r} holds no signed document")
    if is_base64:
        try:
            return base64.b64decode(value, validate=True)
        except ValueError:
            raise SignatureError(MALFORMED, f"payload field {path!r} is not base64") from None
    return value.encode("utf-8")


def _short(uri: str) -> str:
    """``http://www.w3.org/2001/04/xmldsig-more#rsa-sha256`` -> ``rsa-sha256`` (the trace stays readable)."""
    return uri.rsplit("#", 1)[-1]


@dataclass(frozen=True)
class _Signer:
    """What every signature by one key repeats in its evidence, worked out once per key (not per message)."""
    key: SigningKey
    xml_method: str
    subject: str
    serial: str
    thumbprint: str
    chain: tuple[str, ...]
    anchors: tuple[str, ...]


class SigningService:
    def __init__(self, keyring: KeyRing) -> None:
        self.keyring = keyring
        self._signers: dict[str, _Signer] = {}

    @classmethod
    def from_config(cls, section: Mapping[str, Any], config_directory: str | os.PathLike[str]) -> "SigningService":
        """Load every key and trust store once (generating the sandbox PKI on first run)."""
        return cls(KeyRing.from_config(section or {}, base_dir=base_dir(config_directory)))

    # --- outbound: the Pipeline's signer ------------------------------------------------------------
    def sign(self, key_name: str, body: Any, options: Mapping[str, Any]) -> SignedBody:
        if isinstance(body, SignedBody):
            raise ValueError("the body is already signed: a route has one sign step")
        fmt = options.get("format") or self._format_of(body)
        if fmt == "xmldsig":
            return self.sign_xml(body, key_name, options.get("signature_parent"), options.get("namespaces"))
        if fmt == "jws":
            data = body if isinstance(body, bytes) else body.encode("utf-8") if isinstance(body, str) \
                else json.dumps(body, ensure_ascii=False).encode("utf-8")
            return self.sign_json(data, key_name, str(options.get("header") or DEFAULT_JWS_HEADER),
                                  bool(options.get("unencoded", False)))
        raise ValueError(f"unknown signature format {fmt!r} (xmldsig or jws)")

    @staticmethod
    def _format_of(body: Any) -> str:
        if isinstance(body, etree._Element):
            return "xmldsig"
        if isinstance(body, (bytes, str)):
            head = body.lstrip()[:1]
            return "xmldsig" if head in (b"<", "<") else "jws"
        return "jws"

    def sign_xml(self, document: etree._Element | bytes | str, key_name: str, signature_parent: str | None = None,
                 namespaces: Mapping[str, str] | None = None) -> SignedBody:
        """Enveloped XML-DSig; the result is serialised once, here, and sent as these bytes."""
        handed_over = isinstance(document, (bytes, str))   # parsed here, for this signature only
        if isinstance(document, (bytes, str)):
            raw = document.encode("utf-8") if isinstance(document, str) else document
            try:
                document = etree.fromstring(raw, parser=xmldsig.safe_parser())
            except etree.XMLSyntaxError as exc:
                raise SignatureError(MALFORMED, f"body to sign is not well-formed XML: {exc}") from None
        signed = xmldsig.sign_enveloped(document, key_name, keyring=self.keyring, signature_parent=signature_parent,
                                        namespaces=namespaces, handed_over=handed_over)
        data = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
        signer = self._signer(key_name)
        evidence = Evidence("signed", key_name, "xmldsig", signer.xml_method, signer.subject, signer.serial,
                            signer.thumbprint, hashlib.sha256(data).hexdigest(), data=data,
                            certificates=signer.chain, anchors=signer.anchors,
                            location=_signature_location(signature_parent),
                            namespaces=tuple(sorted((namespaces or {}).items())))
        return SignedBody(data, XML_CONTENT_TYPE, evidence)

    def _signer(self, key_name: str) -> _Signer:
        """The key's evidence fields, kept while the key ring hands out the same key (a reloaded ring, a rotated
        key: another object, worked out again)."""
        key = self.keyring.signing_key(key_name)
        known = self._signers.get(key_name)
        if known is not None and known.key is key:
            return known
        cert = key.certificate
        method = SignatureMethod.ECDSA_SHA256 if isinstance(key.private_key, ec.EllipticCurvePrivateKey) \
            else SignatureMethod.RSA_SHA256
        signer = _Signer(key, _short(method.value), cert.subject.rfc4514_string(), format(cert.serial_number, "x"),
                         thumbprint(cert), self._our_chain(key_name), self._our_anchors(key_name))
        self._signers[key_name] = signer
        return signer

    def _our_chain(self, key_name: str) -> tuple[str, ...]:
        key = self.keyring.signing_key(key_name)
        return tuple(_pem(c) for c in (key.certificate, *key.chain))

    def _our_anchors(self, key_name: str) -> tuple[str, ...]:
        """The CA above our chain, from a trust store that holds it; else the top of the chain itself."""
        key = self.keyring.signing_key(key_name)
        top = (key.certificate, *key.chain)[-1]
        if top.issuer == top.subject:
            return (_pem(top),)
        anchor = self.keyring.anchor_for(top)
        return (_pem(anchor if anchor is not None else top),)

    def _their_anchors(self, partner: str) -> tuple[str, ...]:
        trust = self.keyring.trust(partner)
        return tuple(_pem(c) for c in (*trust.cas, *trust.pinned))

    def sign_json(self, data: bytes, key_name: str, header: str = DEFAULT_JWS_HEADER,
                  unencoded: bool = False) -> SignedBody:
        """Detached JWS over exactly ``data``; the token travels in ``header``."""
        token = jws.sign_detached(data, key_name, keyring=self.keyring, unencoded=unencoded)
        signer = self._signer(key_name)
        evidence = Evidence("signed", key_name, "jws", signer.key.jws_alg, signer.subject, signer.serial,
                            signer.thumbprint, hashlib.sha256(data).hexdigest(), data=data, signature=token,
                            certificates=signer.chain, anchors=signer.anchors)
        return SignedBody(data, JSON_CONTENT_TYPE, evidence, {header: token})

    # --- the route ``verify`` step: a signed document carried inside a canonical payload ------------
    def verify_step(self, partner: str, body: Any, options: Mapping[str, Any]) -> Evidence:
        """Verify the document in payload field ``options.field`` against ``partner``'s trust store.

        ``format: xmldsig`` (default): the field is the signed XML (text, or base64 with ``base64: true``);
        ``signature`` is the XPath of its ``ds:Signature`` (default ``/*/ds:Signature``).
        ``format: jws``: the field is the signed content, ``jws_field`` the detached JWS over its bytes.
        Raises :class:`SignatureError`; the Pipeline makes that a permanent ``delivery.verify_failed``.
        """
        data = _field_bytes(body, str(options.get("field") or ""), bool(options.get("base64", False)))
        if (options.get("format") or "xmldsig") == "jws":
            token = _field(body, str(options.get("jws_field") or ""))
            _, evidence = self.verify_jws(token if isinstance(token, str) else None, data, partner)
            return evidence
        _, evidence = self.verify_xml(data, partner, str(options.get("signature") or "/*/ds:Signature"),
                                      expect_references=int(options.get("expect_references", 1)),
                                      namespaces=options.get("namespaces"))
        return evidence

    # --- inbound: what connectors call before anything else ----------------------------------------
    def verify_xml(self, data: bytes, partner: str, signature_xpath: str, *, expect_references: int = 1,
                   namespaces: Mapping[str, str] | None = None,
                   signing_time: dt.datetime | None = None) -> tuple[xmldsig.VerifiedXML, Evidence]:
        """Verify the exact bytes received; use only ``result.signed_root`` downstream."""
        result = xmldsig.verify(data, partner, signature_xpath, keyring=self.keyring,
                                expect_references=expect_references, namespaces=namespaces, signing_time=signing_time)
        evidence = Evidence("verified", partner, "xmldsig", _short(result.signature_method), result.signer_subject,
                            result.signer_serial, thumbprint(result.certificate), result.document_sha256,
                            data=bytes(data), certificates=(_pem(result.certificate),),
                            anchors=self._their_anchors(partner), location=signature_xpath,
                            namespaces=tuple(sorted((namespaces or {}).items())))
        return result, evidence

    def verify_jws(self, token: str | None, data: bytes, partner: str,
                   at: dt.datetime | None = None) -> tuple[jws.VerifiedJWS, Evidence]:
        result = jws.verify_detached(token, data, partner, keyring=self.keyring, at=at)
        # kid is the pinned certificate's x5t#S256 unless the partner registered its own kid
        cert = self.keyring.trust(partner).jws_keys.get(result.kid)
        x5t = thumbprint(cert) if cert is not None else result.kid
        evidence = Evidence("verified", partner, "jws", result.alg, result.signer_subject, result.signer_serial,
                            x5t, result.payload_sha256, data=bytes(data), signature=token,
                            certificates=(_pem(cert),) if cert is not None else (),
                            anchors=self._their_anchors(partner))
        return result, evidence

    def verify_jws_request(self, headers: Mapping[str, str], body: bytes, partner: str,
                           header: str = DEFAULT_JWS_HEADER) -> tuple[jws.VerifiedJWS, Evidence]:
        """A callback's detached JWS, from ``header`` (any case) over the raw body received."""
        wanted = header.lower()
        token = next((v for k, v in headers.items() if k.lower() == wanted), None)
        return self.verify_jws(token, body, partner)
