"""XML-DSig for edXML and other partner XML: enveloped signatures made and checked with signxml.

Signing: RSA-SHA256 or ECDSA-SHA256 (by the key's type), SHA-256 digests, exclusive C14N, one reference to
the whole document (``URI=""``, enveloped transform), the certificate and its chain in ``KeyInfo/X509Data``,
the ``ds:Signature`` placed where the caller says (edXML: last child of ``edXMLHeader``). Serialise the result
once and send those bytes: re-indenting a signed document breaks its signature.

Verification closes signxml's traps before signxml runs:

* trust: the partner's own store only (pinned certificates, or a chain to its CAs); signxml gets the already
  validated leaf as ``x509_cert`` so it never falls back to public web CAs;
* location: exactly one ``ds:Signature`` in the whole document, at ``signature_xpath``, with no ``ds:Object``
  (nothing in one could be signed: see references);
* references: exactly ``expect_references``, each ``""`` or ``#id`` naming a unique element that *contains*
  the signature, so a signed element moved out of place (wrapping) is refused even when its digest still matches;
* algorithms, transforms, key sizes and certificate dates from :mod:`hub.signing.policy`, checked at the
  signing time the caller vouches for, or now;
* KeyInfo: one X509Data naming one leaf (plus its chain); KeyValue, RetrievalMethod or a second leaf is ambiguous;
* parsing: no DTD, no entities, no network, no huge trees.

Callers use :attr:`VerifiedXML.signed_root` (what signxml says was signed, re-parsed from its canonical form)
and never the document they passed in.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Mapping

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from signxml import DigestAlgorithm, SignatureMethod, XMLSigner, XMLVerifier
from signxml.algorithms import CanonicalizationMethod
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidInput, InvalidSignature
from signxml.verifier import SignatureConfiguration

from hub import xmlsafe
from hub.signing import policy
from hub.signing.errors import (ALGORITHM_FORBIDDEN, CERT_UNTRUSTED, INVALID, KEY_INFO_AMBIGUOUS, MALFORMED, MISSING,
                                UNEXPECTED_REFERENCES, WRAPPING, KeyUnavailableError, SignatureError)
from hub.signing.keys import KeyRing

DS = "http://www.w3.org/2000/09/xmldsig#"
EDXML = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
NAMESPACES = {"ds": DS, "edXML": EDXML}
EDXML_SIGNATURE_PARENT = "/edXML:edXMLEnvelope/edXML:edXMLHeader"
EDXML_SIGNATURE = EDXML_SIGNATURE_PARENT + "/ds:Signature"
_ID_ATTRIBUTES = ("Id", "ID", "id")
_XML_ID = "{http://www.w3.org/XML/1998/namespace}id"


def safe_parser() -> etree.XMLParser:
    """The hub's one XML parser factory (hub/xmlsafe.py)."""
    return xmlsafe.parser()


@dataclass(frozen=True)
class VerifiedXML:
    signed_roots: tuple[etree._Element, ...]   # one per reference, in SignedInfo order
    signed_data: tuple[bytes, ...]             # the canonical bytes each digest covers
    signer_subject: str
    signer_issuer: str
    signer_serial: str                         # hex
    certificate: x509.Certificate
    signing_time: dt.datetime | None           # as given by the caller; None = checked at checked_at
    checked_at: dt.datetime
    document_sha256: str                       # digest of the exact bytes received (evidence)
    signature_method: str = ""                 # SignatureMethod URI of the signature checked

    @property
    def signed_root(self) -> etree._Element:
        return self.signed_roots[0]


def sign_enveloped(root: etree._Element, key_name: str, *, keyring: KeyRing,
                   signature_parent: str | None = None, namespaces: Mapping[str, str] | None = None,
                   handed_over: bool = False) -> etree._Element:
    """A signed copy of ``root`` (the caller's tree is not changed).

    ``signature_parent`` is an XPath (``namespaces`` + ds/edXML prefixes) to the one element that receives
    the ``ds:Signature`` as its last child; default the root itself. ``handed_over``: the caller parsed ``root``
    for this signature and never uses it again, so it is signed without the copy (one serialisation and one
    parse fewer per signed message).
    """
    key = keyring.signing_key(key_name)
    now = policy.utc(None)
    if not key.certificate.not_valid_before_utc <= now <= key.certificate.not_valid_after_utc:
        raise KeyUnavailableError(f"signing key {key_name!r}: certificate not valid now "
                                  f"({key.certificate.not_valid_before_utc.date()}..{key.certificate.not_valid_after_utc.date()})")
    doc = root if handed_over else etree.fromstring(etree.tostring(root), parser=safe_parser())
    parent = doc
    if signature_parent:
        found = doc.xpath(signature_parent, namespaces={**NAMESPACES, **(namespaces or {})})
        if not isinstance(found, list) or len(found) != 1 or not isinstance(found[0], etree._Element):
            raise ValueError(f"signature_parent {signature_parent!r} must select exactly one element")
        parent = found[0]
    etree.SubElement(parent, f"{{{DS}}}Signature", Id="placeholder", nsmap={"ds": DS})   # signxml replaces its placeholder in place
    is_ec = isinstance(key.private_key, ec.EllipticCurvePrivateKey)
    signer = XMLSigner(signature_algorithm=SignatureMethod.ECDSA_SHA256 if is_ec else SignatureMethod.RSA_SHA256,
                       digest_algorithm=DigestAlgorithm.SHA256,
                       c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0)
    return signer.sign(doc, key=key.private_key, cert=[key.certificate, *key.chain])


def verify(xml_bytes: bytes, partner: str, signature_xpath: str, *, keyring: KeyRing, expect_references: int = 1,
           namespaces: Mapping[str, str] | None = None, signing_time: dt.datetime | None = None) -> VerifiedXML:
    """Verify the one signature at ``signature_xpath`` (an XPath to the ``ds:Signature`` element itself)
    against ``partner``'s trust store; raise :class:`SignatureError` with a stable code otherwise.

    ``signing_time``: only a time the caller can vouch for (a trusted timestamp, the time we received it);
    a time taken from the unverified document would let an expired key backdate its signatures.
    """
    if not isinstance(xml_bytes, (bytes, bytearray)):
        raise TypeError("verify() takes the exact bytes received")
    trust = keyring.trust(partner)
    at = policy.utc(signing_time)
    root = _parse(bytes(xml_bytes))
    signature = _locate(root, signature_xpath, namespaces)
    _check_signed_info(root, signature, expect_references)
    leaf, others = _key_info_certificates(signature, trust.pinned)
    policy.check_certificate(leaf, at)
    if not trust.is_pinned(leaf):
        policy.verify_chain(leaf, others, trust.cas, at)

    parent = signature.getparent()
    assert parent is not None
    path = root.getroottree().getelementpath(parent)
    location = "./" if parent is root else f"./{path}/"
    config = SignatureConfiguration(
        location=location, expect_references=expect_references,
        signature_methods=frozenset(m for m in SignatureMethod if m.value in policy.XML_SIGNATURE_METHODS),
        digest_algorithms=frozenset(d for d in DigestAlgorithm if d.value in policy.XML_DIGEST_METHODS),
        verification_time=at)
    try:
        result = XMLVerifier().verify(bytes(xml_bytes), x509_cert=leaf, expect_config=config, parser=safe_parser())
    except InvalidDigest as exc:
        raise SignatureError(INVALID, f"content changed after signing: {exc}") from None
    except InvalidCertificate as exc:
        raise SignatureError(CERT_UNTRUSTED, str(exc)) from None
    except InvalidSignature as exc:
        code = UNEXPECTED_REFERENCES if "references" in str(exc) else INVALID
        raise SignatureError(code, str(exc)) from None
    except InvalidInput as exc:
        raise SignatureError(_input_code(str(exc)), str(exc)) from None
    except (etree.DocumentInvalid, etree.XMLSyntaxError, ValueError) as exc:
        raise SignatureError(MALFORMED, f"signature element invalid: {exc}") from None
    results = result if isinstance(result, list) else [result]
    if any(r.signed_xml is None for r in results):
        raise SignatureError(MALFORMED, "signed data is not XML")
    return VerifiedXML(tuple(r.signed_xml for r in results), tuple(r.signed_data for r in results),  # type: ignore[misc]
                       leaf.subject.rfc4514_string(), leaf.issuer.rfc4514_string(), format(leaf.serial_number, "x"),
                       leaf, signing_time, at, hashlib.sha256(xml_bytes).hexdigest(), _signature_method(signature))


def _signature_method(signature: etree._Element) -> str:
    method = signature.find("ds:SignedInfo/ds:SignatureMethod", {"ds": DS})
    return "" if method is None else str(method.get("Algorithm", ""))


def _parse(data: bytes) -> etree._Element:
    try:
        root = xmlsafe.parse(data, what="signed document")
    except xmlsafe.XmlRefused as exc:
        reason = "DTDs are not accepted" if "DOCTYPE" in exc.detail else exc.detail
        raise SignatureError(MALFORMED, f"not well-formed or refused XML: {reason}") from None
    return root


def _locate(root: etree._Element, signature_xpath: str, namespaces: Mapping[str, str] | None) -> etree._Element:
    everywhere = root.xpath("//ds:Signature", namespaces=NAMESPACES)
    assert isinstance(everywhere, list)
    if root.tag == f"{{{DS}}}Signature":
        raise SignatureError(WRAPPING, "enveloping signatures are not accepted")
    if not everywhere:
        raise SignatureError(MISSING, "no ds:Signature in the document")
    found = root.xpath(signature_xpath, namespaces={**NAMESPACES, **(namespaces or {})})
    hits = [e for e in found if isinstance(e, etree._Element) and e.tag == f"{{{DS}}}Signature"] \
        if isinstance(found, list) else []
    if len(hits) != 1:
        raise SignatureError(WRAPPING if everywhere else MISSING,
                             f"expected one ds:Signature at {signature_xpath}, found {len(hits)}")
    if len(everywhere) > 1:
        raise SignatureError(WRAPPING, f"{len(everywhere)} ds:Signature elements; exactly one is accepted")
    # Every reference must contain the signature (_check_signed_info), so nothing inside a ds:Object can be
    # signed: an Object is unsigned content riding in the evidence, the classic home of a wrapped forged copy.
    if hits[0].find("ds:Object", NAMESPACES) is not None:
        raise SignatureError(WRAPPING, "ds:Object in the signature: its content is signed by nothing")
    return hits[0]


def _check_signed_info(root: etree._Element, signature: etree._Element, expect_references: int) -> None:
    ns = {"ds": DS}
    signed_info = signature.find("ds:SignedInfo", ns)
    if signed_info is None:
        raise SignatureError(MALFORMED, "ds:Signature has no SignedInfo")
    c14n = signed_info.find("ds:CanonicalizationMethod", ns)
    method = signed_info.find("ds:SignatureMethod", ns)
    for what, node, allowed in (("canonicalization", c14n, policy.XML_C14N_METHODS),
                                ("signature method", method, policy.XML_SIGNATURE_METHODS)):
        if node is None or node.get("Algorithm") not in allowed:
            raise SignatureError(ALGORITHM_FORBIDDEN, f"{what} {None if node is None else node.get('Algorithm')} not allowed")
    references = signed_info.findall("ds:Reference", ns)
    if len(references) != expect_references:
        raise SignatureError(UNEXPECTED_REFERENCES, f"expected {expect_references} reference(s), found {len(references)}")
    for ref in references:
        digest = ref.find("ds:DigestMethod", ns)
        if digest is None or digest.get("Algorithm") not in policy.XML_DIGEST_METHODS:
            raise SignatureError(ALGORITHM_FORBIDDEN, f"digest {None if digest is None else digest.get('Algorithm')} not allowed")
        for transform in ref.findall("ds:Transforms/ds:Transform", ns):
            if transform.get("Algorithm") not in policy.XML_TRANSFORMS:
                raise SignatureError(ALGORITHM_FORBIDDEN, f"transform {transform.get('Algorithm')} not allowed")
        target = _reference_target(root, ref.get("URI"))
        if not any(e is signature for e in target.iter(f"{{{DS}}}Signature")):
            raise SignatureError(WRAPPING, f"reference {ref.get('URI')!r} does not contain the signature (moved element?)")


def _reference_target(root: etree._Element, uri: str | None) -> etree._Element:
    if uri == "":
        return root
    if uri is None or not uri.startswith("#") or uri.startswith("#xpointer("):
        raise SignatureError(WRAPPING, f"reference URI {uri!r} not accepted (only \"\" or #id)")
    wanted = uri[1:]
    matches = [e for e in root.iter() if isinstance(e.tag, str)
               and any(v == wanted for k, v in e.attrib.items() if k in _ID_ATTRIBUTES or k == _XML_ID
                       or etree.QName(k).localname in _ID_ATTRIBUTES)]
    if len(matches) != 1:
        raise SignatureError(WRAPPING, f"reference {uri} matches {len(matches)} elements (duplicated signed element?)")
    return matches[0]


def _key_info_certificates(signature: etree._Element,
                           pinned: tuple[x509.Certificate, ...]) -> tuple[x509.Certificate, list[x509.Certificate]]:
    ns = {"ds": DS}
    key_infos = signature.findall("ds:KeyInfo", ns)
    if len(key_infos) > 1:
        raise SignatureError(KEY_INFO_AMBIGUOUS, "more than one KeyInfo")
    if not key_infos or not key_infos[0].findall("ds:X509Data", ns):
        if len(pinned) == 1 and not (key_infos and len(key_infos[0])):
            return pinned[0], []      # no KeyInfo: the partner's single pinned certificate is the only candidate
        raise SignatureError(KEY_INFO_AMBIGUOUS, "KeyInfo carries no X509Data certificate")
    key_info = key_infos[0]
    for child in key_info:
        if isinstance(child.tag, str) and child.tag not in (f"{{{DS}}}X509Data", f"{{{DS}}}KeyName"):
            raise SignatureError(KEY_INFO_AMBIGUOUS, f"KeyInfo child {etree.QName(child).localname} not accepted with X509Data")
    datas = key_info.findall("ds:X509Data", ns)
    if len(datas) != 1:
        raise SignatureError(KEY_INFO_AMBIGUOUS, f"{len(datas)} X509Data elements")
    certs: list[x509.Certificate] = []
    serials: list[tuple[str, str]] = []
    for child in datas[0]:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child).localname
        if child.tag == f"{{{DS}}}X509Certificate":
            try:
                cert = x509.load_der_x509_certificate(base64.b64decode("".join((child.text or "").split()), validate=True))
            except ValueError as exc:
                raise SignatureError(MALFORMED, f"X509Certificate cannot be read: {exc}") from None
            if all(c != cert for c in certs):
                certs.append(cert)
        elif child.tag == f"{{{DS}}}X509IssuerSerial":
            serials.append(((child.findtext("ds:X509IssuerName", "", ns)), child.findtext("ds:X509SerialNumber", "", ns)))
        else:
            raise SignatureError(KEY_INFO_AMBIGUOUS, f"X509Data child {name} not accepted")
    if not certs:
        raise SignatureError(KEY_INFO_AMBIGUOUS, "X509Data carries no certificate")
    # The leaf is the one certificate that issued no other certificate in the list.
    leaves = [c for c in certs if not any(o is not c and o.issuer == c.subject for o in certs)]
    if len(leaves) != 1:
        raise SignatureError(KEY_INFO_AMBIGUOUS, f"{len(leaves)} candidate signing certificates in KeyInfo")
    leaf = leaves[0]
    for _issuer, serial in serials:
        if serial.strip() != str(leaf.serial_number):
            raise SignatureError(KEY_INFO_AMBIGUOUS, "X509IssuerSerial names another certificate")
    return leaf, [c for c in certs if c is not leaf]


def _input_code(message: str) -> str:
    if "forbidden by configuration" in message or "does not match specified signature algorithm" in message:
        return ALGORITHM_FORBIDDEN
    if "Ambiguous reference" in message:
        return WRAPPING
    if "KeyValue" in message:
        return KEY_INFO_AMBIGUOUS
    return MALFORMED
