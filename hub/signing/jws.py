"""Detached JWS (RFC 7515 appendix F; RFC 7797 ``b64: false`` accepted) over the exact bytes of a JSON body.

The compact form travels in an HTTP header (the connector names it), with an empty payload part:
``BASE64URL(header)..BASE64URL(signature)``. The signing input is ``BASE64URL(header) "." BASE64URL(body)``
(or the raw body when ``b64`` is false), so the body is signed as sent, byte for byte, never re-serialised.

Made and checked with ``cryptography`` only. Verification trusts nothing the token says about keys:

* ``alg`` must be in the partner's allow-list (RS256/ES256 at most); ``none`` and every ``HS*`` are refused
  whatever the config says, so a public key can never be used as an HMAC secret;
* the key is looked up in the partner's trust store by ``kid`` (default kid = ``x5t#S256`` of the pinned
  certificate); ``jku``, ``x5u`` and ``jwk`` are refused outright (never fetched, never used); ``x5c`` is ignored;
* ``crit`` may only name ``b64``; the key's type and curve must match ``alg``; the certificate must be in date.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from hub.signing import policy
from hub.signing.errors import (ALGORITHM_FORBIDDEN, HEADER_FORBIDDEN, INVALID, MALFORMED, MISSING, UNKNOWN_KEY,
                                KeyUnavailableError, SignatureError)
from hub.signing.keys import KeyRing

_FORBIDDEN_HEADERS = ("jku", "x5u", "jwk")
_UNDERSTOOD_CRIT = frozenset({"b64"})
_MAX_HEADER = 4096


@dataclass(frozen=True)
class VerifiedJWS:
    alg: str
    kid: str
    header: dict[str, Any]
    signer_subject: str
    signer_serial: str            # hex
    payload_sha256: str           # digest of the exact bytes verified (evidence)


def sign_detached(payload: bytes, key_name: str, *, keyring: KeyRing, unencoded: bool = False,
                  extra_header: dict[str, Any] | None = None) -> str:
    """The compact detached JWS for ``payload`` signed with our key ``key_name``."""
    key = keyring.signing_key(key_name)
    now = policy.utc(None)
    if not key.certificate.not_valid_before_utc <= now <= key.certificate.not_valid_after_utc:
        raise KeyUnavailableError(f"signing key {key_name!r}: certificate not valid now")
    header: dict[str, Any] = {**(extra_header or {}), "alg": key.jws_alg, "kid": key.kid}
    if unencoded:
        header.update(b64=False, crit=["b64"])
    protected = _b64(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())
    signing_input = protected.encode() + b"." + (payload if unencoded else _b64(payload).encode())
    if isinstance(key.private_key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.private_key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")     # JWS wants r||s, not DER (RFC 7518 3.4)
    else:
        raw = key.private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{protected}..{_b64(raw)}"


def verify_detached(token: str | None, payload: bytes, partner: str, *, keyring: KeyRing,
                    at: dt.datetime | None = None) -> VerifiedJWS:
    """Check ``token`` over the exact ``payload`` bytes received from ``partner``; :class:`SignatureError` if not."""
    if not token:
        raise SignatureError(MISSING, "no JWS")
    trust = keyring.trust(partner)
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise SignatureError(MALFORMED, "JWS must be compact: header..signature")
    protected, embedded, sig_part = parts
    if embedded:
        raise SignatureError(MALFORMED, "JWS payload must be detached (empty middle part)")
    if len(protected) > _MAX_HEADER:
        raise SignatureError(MALFORMED, "JWS header too large")
    header = _decode_header(protected)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg.lower() == "none" or alg.upper().startswith("HS") or alg not in policy.JWS_ALGS:
        raise SignatureError(ALGORITHM_FORBIDDEN, f"JWS alg {alg!r} not accepted")
    if alg not in trust.jws_algs:
        raise SignatureError(ALGORITHM_FORBIDDEN, f"JWS alg {alg} not allowed for {partner}")
    for name in _FORBIDDEN_HEADERS:
        if name in header:
            raise SignatureError(HEADER_FORBIDDEN, f"JWS header {name!r} not accepted: keys are never taken from the message")
    b64 = _check_crit(header)
    cert = _lookup_key(header, trust.jws_keys, partner)
    policy.check_certificate(cert, policy.utc(at))
    signature = _unb64(sig_part, "signature")
    signing_input = protected.encode() + b"." + (_b64(payload).encode() if b64 else payload)
    public_key = cert.public_key()
    try:
        if alg == "RS256":
            if not isinstance(public_key, rsa.RSAPublicKey):
                raise SignatureError(ALGORITHM_FORBIDDEN, "RS256 with a non-RSA key")
            public_key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        else:
            if not isinstance(public_key, ec.EllipticCurvePublicKey) or public_key.curve.name != "secp256r1":
                raise SignatureError(ALGORITHM_FORBIDDEN, "ES256 needs a P-256 key")
            if len(signature) != 64:
                raise SignatureError(INVALID, "ES256 signature must be 64 bytes (r||s)")
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            public_key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise SignatureError(INVALID, "JWS signature does not match the body") from None
    kid = header.get("kid") or next(iter(trust.jws_keys))
    return VerifiedJWS(alg, str(kid), header, cert.subject.rfc4514_string(), format(cert.serial_number, "x"),
                       hashlib.sha256(payload).hexdigest())


def _decode_header(protected: str) -> dict[str, Any]:
    raw = _unb64(protected, "header")

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in pairs:
            if k in out:
                raise SignatureError(MALFORMED, f"duplicate JWS header {k!r}")   # two 'alg's = two readings
            out[k] = v
        return out
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise SignatureError(MALFORMED, "JWS header is not JSON") from None
    if not isinstance(header, dict):
        raise SignatureError(MALFORMED, "JWS header is not a JSON object")
    return header


def _check_crit(header: dict[str, Any]) -> bool:
    """Whether the payload is base64url-encoded (RFC 7797); refuses extensions we do not implement."""
    crit = header.get("crit")
    if crit is not None:
        if not isinstance(crit, list) or not crit or not all(isinstance(c, str) for c in crit):
            raise SignatureError(HEADER_FORBIDDEN, "JWS crit must be a non-empty list of names")
        unknown = [c for c in crit if c not in _UNDERSTOOD_CRIT or c not in header]
        if unknown:
            raise SignatureError(HEADER_FORBIDDEN, f"JWS crit names extensions not understood: {unknown}")
    b64 = header.get("b64", True)
    if not isinstance(b64, bool):
        raise SignatureError(MALFORMED, "JWS b64 must be a boolean")
    if b64 is False and "b64" not in (crit or []):
        raise SignatureError(HEADER_FORBIDDEN, "JWS b64=false must be listed in crit (RFC 7797)")
    return b64


def _lookup_key(header: dict[str, Any], keys: Any, partner: str) -> x509.Certificate:
    kid = header.get("kid")
    if kid is None:
        if len(keys) == 1:
            return next(iter(keys.values()))
        raise SignatureError(UNKNOWN_KEY, f"JWS has no kid and {partner} has {len(keys)} keys")
    cert = keys.get(kid) if isinstance(kid, str) else None
    if cert is None:
        raise SignatureError(UNKNOWN_KEY, f"kid {str(kid)[:80]!r} is not registered for {partner}")
    return cert


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    # Strict: base64url alphabet, no padding, no whitespace (RFC 7515 section 2).
    if not text or any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" for c in text):
        raise SignatureError(MALFORMED, f"JWS {what} is not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise SignatureError(MALFORMED, f"JWS {what} is not base64url") from None
