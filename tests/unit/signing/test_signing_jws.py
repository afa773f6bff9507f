"""Detached JWS: round trips and reliability.md family 5 (alg games, key confusion, wrong kid, changed body)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from hub.signing import jws
from hub.signing.errors import SignatureError
from hub.signing.keys import KeyRing, thumbprint

BODY = '{"MaHoSo":"000.00.14.H20-200703-0002","SoTien":150000}'.encode()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict, signature: bytes = b"x" * 32) -> str:
    return f"{b64(json.dumps(header).encode())}..{b64(signature)}"


def code(token: str, keyring: KeyRing, body: bytes = BODY, partner: str = "agency") -> str:
    with pytest.raises(SignatureError) as exc:
        jws.verify_detached(token, body, partner, keyring=keyring)
    return exc.value.code


@pytest.mark.parametrize("key,alg", [("agency", "RS256"), ("agency-ec", "ES256")])
@pytest.mark.parametrize("unencoded", [False, True])
def test_round_trip(keyring: KeyRing, pki, key: str, alg: str, unencoded: bool) -> None:
    token = jws.sign_detached(BODY, key, keyring=keyring, unencoded=unencoded)
    header_part, middle, _ = token.split(".")
    assert middle == ""                                   # detached
    header = json.loads(base64.urlsafe_b64decode(header_part + "=="))
    assert header["alg"] == alg and header["kid"] == thumbprint(pki.load_cert(key))
    result = jws.verify_detached(token, BODY, "agency", keyring=keyring)
    assert result.alg == alg and result.signer_subject == f"CN={key},O=LGSP hub sandbox,C=VN"
    assert result.payload_sha256 == hashlib.sha256(BODY).hexdigest()


def test_rs256_is_independently_checkable(keyring: KeyRing, pki) -> None:
    """RFC 7515 signing input, verified here with nothing but cryptography and the certificate."""
    token = jws.sign_detached(BODY, "agency", keyring=keyring)
    header_part, _, sig = token.split(".")
    signing_input = f"{header_part}.{b64(BODY)}".encode()
    pki.load_cert("agency").public_key().verify(base64.urlsafe_b64decode(sig + "=="), signing_input,
                                                 padding.PKCS1v15(), hashes.SHA256())


def test_payload_changed(keyring: KeyRing) -> None:
    token = jws.sign_detached(BODY, "agency", keyring=keyring)
    assert code(token, keyring, BODY.replace(b"150000", b"1500000")) == "signature.invalid"
    assert code(token, keyring, BODY + b" ") == "signature.invalid"    # exact bytes: even whitespace counts


def test_alg_none(keyring: KeyRing) -> None:
    unsigned = b64(b'{"alg":"none"}') + ".."          # the classic: no signature at all
    assert code(unsigned, keyring) == "signature.algorithm_forbidden"
    assert code(forge({"alg": "none"}), keyring) == "signature.algorithm_forbidden"
    assert code(forge({"alg": "None", "kid": "x"}), keyring) == "signature.algorithm_forbidden"


def test_hs256_keyed_with_public_key(keyring: KeyRing, pki) -> None:
    """Key confusion: HMAC with the partner's public certificate/key as the secret must never verify."""
    cert = pki.load_cert("agency")
    for secret in (cert.public_bytes(serialization.Encoding.PEM),
                   cert.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)):
        header = b64(json.dumps({"alg": "HS256", "kid": thumbprint(cert)}).encode())
        mac = hmac.new(secret, f"{header}.{b64(BODY)}".encode(), hashlib.sha256).digest()
        assert code(f"{header}..{b64(mac)}", keyring) == "signature.algorithm_forbidden"


def test_hs_algs_cannot_be_allowed_in_config(pki) -> None:
    from hub.signing.errors import SigningConfigError
    with pytest.raises(SigningConfigError) as exc:
        KeyRing.from_config({"trust": {"p": {"pinned": [str(pki.cert_path("agency"))], "jws_algs": ["HS256"]}}})
    assert exc.value.code == "config.invalid" and "HS256" in str(exc.value)


def test_alg_not_in_partner_allow_list(keyring: KeyRing) -> None:
    token = jws.sign_detached(BODY, "agency-ec", keyring=keyring)
    assert code(token, keyring, partner="rs-only") == "signature.algorithm_forbidden"
    assert jws.verify_detached(jws.sign_detached(BODY, "agency", keyring=keyring), BODY, "rs-only", keyring=keyring)


def test_alg_key_type_mismatch(keyring: KeyRing, pki) -> None:
    """ES256 header with the kid of an RSA certificate."""
    token = forge({"alg": "ES256", "kid": thumbprint(pki.load_cert("agency"))}, b"\0" * 64)
    assert code(token, keyring) == "signature.algorithm_forbidden"


def test_wrong_kid(keyring: KeyRing, pki) -> None:
    assert code(forge({"alg": "RS256", "kid": "somebody-else"}), keyring) == "signature.unknown_key"
    # a real signature by a key the partner did not register (qlvb's simulator key) is unknown to 'agency'
    token = jws.sign_detached(BODY, "qlvb-sim", keyring=keyring)
    assert code(token, keyring) == "signature.unknown_key"


def test_signed_by_agency_not_accepted_as_qlvb(keyring: KeyRing) -> None:
    assert code(jws.sign_detached(BODY, "agency", keyring=keyring), keyring, partner="qlvb") == "signature.unknown_key"


@pytest.mark.parametrize("extra", [{"jku": "https://evil.invalid/jwks"}, {"x5u": "https://evil.invalid/c.pem"},
                                   {"jwk": {"kty": "oct", "k": "AAAA"}}])
def test_key_location_headers_refused(keyring: KeyRing, extra: dict) -> None:
    token = jws.sign_detached(BODY, "agency", keyring=keyring, extra_header=extra)
    assert code(token, keyring) == "signature.header_forbidden"


def test_crit_not_understood(keyring: KeyRing) -> None:
    token = jws.sign_detached(BODY, "agency", keyring=keyring, extra_header={"crit": ["exp"], "exp": 1})
    assert code(token, keyring) == "signature.header_forbidden"


def test_b64_false_without_crit(keyring: KeyRing, pki) -> None:
    assert code(forge({"alg": "RS256", "kid": thumbprint(pki.load_cert("agency")), "b64": False}), keyring) \
        == "signature.header_forbidden"


@pytest.mark.parametrize("token", ["", "abc", "a.b.c.d", "!!!..abc"])
def test_malformed_tokens(keyring: KeyRing, token: str) -> None:
    assert code(token, keyring) in {"signature.missing", "signature.malformed"}


def test_embedded_payload_refused(keyring: KeyRing) -> None:
    header, _, sig = jws.sign_detached(BODY, "agency", keyring=keyring).split(".")
    assert code(f"{header}.{b64(BODY)}.{sig}", keyring) == "signature.malformed"


def test_duplicate_header_keys(keyring: KeyRing, pki) -> None:
    raw = '{"alg":"RS256","alg":"none","kid":"%s"}' % thumbprint(pki.load_cert("agency"))
    assert code(f"{b64(raw.encode())}..{b64(b'x')}", keyring) == "signature.malformed"


def test_truncated_es256_signature(keyring: KeyRing) -> None:
    header, _, sig = jws.sign_detached(BODY, "agency-ec", keyring=keyring).split(".")
    assert code(f"{header}..{sig[:-4]}", keyring) in {"signature.invalid", "signature.malformed"}
