"""What the hub accepts from a signer: algorithms, key strength, certificate dates and chains.

One place, so XML-DSig and JWS refuse the same things for the same reasons with the same codes.
Chains are checked with ``cryptography.x509.verification`` against the partner's own anchors only
(never the system or certifi store, which is signxml's default when given no trust arguments).
"""
from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import verification

from hub.signing.errors import (ALGORITHM_FORBIDDEN, CERT_EXPIRED, CERT_NOT_YET_VALID, CERT_UNTRUSTED, WEAK_KEY,
                                SignatureError)

MIN_RSA_BITS = 2048
EC_CURVES = frozenset({"secp256r1", "secp384r1", "secp521r1"})
JWS_ALGS = frozenset({"RS256", "ES256"})

_DS = "http://www.w3.org/2000/09/xmldsig#"
_DSMORE = "http://www.w3.org/2001/04/xmldsig-more#"
_ENC = "http://www.w3.org/2001/04/xmlenc#"
XML_SIGNATURE_METHODS = frozenset({
    f"{_DSMORE}rsa-sha256", f"{_DSMORE}rsa-sha384", f"{_DSMORE}rsa-sha512",
    f"{_DSMORE}ecdsa-sha256", f"{_DSMORE}ecdsa-sha384", f"{_DSMORE}ecdsa-sha512",
})
XML_DIGEST_METHODS = frozenset({f"{_ENC}sha256", f"{_DSMORE}sha384", f"{_ENC}sha512"})
XML_C14N_METHODS = frozenset({
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
    "http://www.w3.org/2006/12/xml-c14n11",
    "http://www.w3.org/2006/12/xml-c14n11#WithComments",
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
})
# Only the enveloped-signature transform and canonicalisation: XPath, XSLT and base64 transforms let a
# signature cover something other than what the reader sees (and signxml silently skips ones it does not know).
XML_TRANSFORMS = XML_C14N_METHODS | {f"{_DS}enveloped-signature"}

_WEAK_HASHES = (hashes.SHA1, hashes.MD5)


def key_weakness(public_key: object) -> str | None:
    """Why a public key is too weak to trust, or None."""
    if isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < MIN_RSA_BITS:
            return f"RSA key of {public_key.key_size} bits (minimum {MIN_RSA_BITS})"
        return None
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if public_key.curve.name not in EC_CURVES:
            return f"EC curve {public_key.curve.name} not allowed (P-256, P-384, P-521)"
        return None
    return f"key type {type(public_key).__name__} not allowed (RSA or ECDSA only)"


def check_certificate(cert: x509.Certificate, at: dt.datetime, role: str = "signing certificate") -> None:
    """Strength, certificate signature hash and dates of one certificate; raises :class:`SignatureError`."""
    weak = key_weakness(cert.public_key())
    if weak:
        raise SignatureError(WEAK_KEY, f"{role} {_describe(cert)}: {weak}")
    hash_alg = cert.signature_hash_algorithm
    if hash_alg is not None and isinstance(hash_alg, _WEAK_HASHES):
        raise SignatureError(ALGORITHM_FORBIDDEN, f"{role} {_describe(cert)} is signed with {hash_alg.name}")
    if at < cert.not_valid_before_utc:
        raise SignatureError(CERT_NOT_YET_VALID, f"{role} {_describe(cert)} not valid before "
                                                 f"{cert.not_valid_before_utc.isoformat()} (checked at {at.isoformat()})")
    if at > cert.not_valid_after_utc:
        raise SignatureError(CERT_EXPIRED, f"{role} {_describe(cert)} expired on "
                                           f"{cert.not_valid_after_utc.isoformat()} (checked at {at.isoformat()})")


def verify_chain(leaf: x509.Certificate, intermediates: list[x509.Certificate], anchors: tuple[x509.Certificate, ...],
                 at: dt.datetime) -> list[x509.Certificate]:
    """The validated chain leaf..anchor, or :class:`SignatureError` ``certificate_untrusted``."""
    if not anchors:
        raise SignatureError(CERT_UNTRUSTED, f"{_describe(leaf)} is not pinned and the partner has no CA configured")
    for cert in intermediates:
        check_certificate(cert, at, "chain certificate")
    builder = (verification.PolicyBuilder().store(verification.Store(list(anchors))).time(at)
               .extension_policies(ee_policy=_EE_POLICY, ca_policy=_CA_POLICY))
    try:
        chain = builder.build_client_verifier().verify(leaf, intermediates).chain
    except verification.VerificationError as exc:
        raise SignatureError(CERT_UNTRUSTED, f"{_describe(leaf)} does not chain to the partner's CA: {exc}") from None
    for cert in chain[1:]:
        weak = key_weakness(cert.public_key())
        if weak:
            raise SignatureError(WEAK_KEY, f"CA {_describe(cert)}: {weak}")
    return chain


def utc(at: dt.datetime | None) -> dt.datetime:
    if at is None:
        return dt.datetime.now(dt.timezone.utc)
    return at.replace(tzinfo=dt.timezone.utc) if at.tzinfo is None else at.astimezone(dt.timezone.utc)


def _describe(cert: x509.Certificate) -> str:
    return f"(subject={cert.subject.rfc4514_string()}, serial={cert.serial_number:x})"


def _require_signing_usage(policy: object, cert: x509.Certificate, usage: x509.KeyUsage | None) -> None:
    # Document-signing certificates carry digitalSignature and/or nonRepudiation (contentCommitment).
    if usage is None or not (usage.digital_signature or usage.content_commitment):
        raise ValueError("certificate KeyUsage allows neither digitalSignature nor nonRepudiation")


def _require_ca(policy: object, cert: x509.Certificate, constraints: x509.BasicConstraints | None) -> None:
    if constraints is None or not constraints.ca:
        raise ValueError("issuer is not a CA (basicConstraints)")


# EKU and SAN are not required: national document-signing certificates (CA Chính phủ, VNPT-CA...) carry
# emailProtection/codeSigning or none, and name a person or agency, not a host.
_EE_POLICY = verification.ExtensionPolicy.permit_all().require_present(
    x509.KeyUsage, verification.Criticality.AGNOSTIC, _require_signing_usage)
_CA_POLICY = verification.ExtensionPolicy.permit_all().require_present(
    x509.BasicConstraints, verification.Criticality.AGNOSTIC, _require_ca)
