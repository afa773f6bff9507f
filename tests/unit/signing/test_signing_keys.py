"""Sandbox PKI and KeyRing: idempotent generation, PEM/PKCS#12 loading, passwords from env, inventory, usable()."""
from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from hub.signing import pki as pkimod
from hub.signing.errors import KeyUnavailableError, SignatureError, SigningConfigError
from hub.signing.keys import KeyRing


# --- sandbox PKI ---------------------------------------------------------------------------------

def test_pki_is_generated_once(pki: pkimod.SandboxPKI) -> None:
    manifest = (pki.directory / "manifest.json").read_text()
    again = pkimod.ensure_sandbox_pki(pki.directory)
    assert again == pki and (pki.directory / "manifest.json").read_text() == manifest
    assert again.load_cert("agency") == pki.load_cert("agency")


def test_pki_contents(pki: pkimod.SandboxPKI) -> None:
    assert {"agency", "agency-ec", "dvcqg", "dancu", "qlvb", "paygov"} <= set(pki.names)
    assert not (pki.directory / "root-ca.key.pem").exists()      # the root key is never written
    for name in pki.names:
        assert stat.S_IMODE(pki.key_path(name).stat().st_mode) == 0o600
        cert = pki.load_cert(name)
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.DNSName) == [f"{name}.sandbox.lgsp.invalid"]
        assert cert.not_valid_after_utc - cert.not_valid_before_utc > dt.timedelta(days=700)
        assert cert.issuer == pki.load_issuer()[1].subject
    assert pki.load_cert("agency-ec").public_key().curve.name == "secp256r1"
    assert pki.load_cert("agency").public_key().key_size == 2048
    assert json.loads((pki.directory / "manifest.json").read_text())["names"] == list(pki.names)


def test_pki_unknown_name(pki: pkimod.SandboxPKI) -> None:
    with pytest.raises(KeyError):
        pki.cert_path("nobody")


def test_bad_certificate_helpers(pki: pkimod.SandboxPKI) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    assert pkimod.make_expired_cert(pki)[1].not_valid_after_utc < now
    assert pkimod.make_not_yet_valid_cert(pki)[1].not_valid_before_utc > now
    assert pkimod.make_weak_rsa_cert(pki)[1].public_key().key_size == 1024
    untrusted = pkimod.make_untrusted_cert()[1]
    assert untrusted.issuer == untrusted.subject


# --- KeyRing loading -----------------------------------------------------------------------------

def _encrypted_pem(pki: pkimod.SandboxPKI, tmp_path: Path, password: bytes) -> str:
    path = tmp_path / "agency.enc.key.pem"
    path.write_bytes(pki.load_key("agency").private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                          serialization.BestAvailableEncryption(password)))
    return str(path)


def test_pem_with_password_from_env(pki: pkimod.SandboxPKI, tmp_path: Path) -> None:
    cfg = {"keys": {"agency": {"pem_key": _encrypted_pem(pki, tmp_path, b"s3cret"), "pem_cert": str(pki.cert_path("agency")),
                               "chain": [str(pki.issuing_ca_cert)], "password_env": "HUB_TEST_KEY_PW"}}}
    ring = KeyRing.from_config(cfg, environ={"HUB_TEST_KEY_PW": "s3cret"})
    key = ring.signing_key("agency")
    assert key.certificate == pki.load_cert("agency") and len(key.chain) == 1 and key.jws_alg == "RS256"
    assert ring.usable() == []

    wrong = KeyRing.from_config(cfg, environ={"HUB_TEST_KEY_PW": "nope"})
    problems = wrong.usable()
    assert [p.key for p in problems] == ["agency"] and "password" in problems[0].detail
    assert "nope" not in problems[0].detail and "s3cret" not in problems[0].detail
    with pytest.raises(KeyUnavailableError) as exc:
        wrong.signing_key("agency")
    assert exc.value.code == "signature.key_unavailable"

    unset = KeyRing.from_config(cfg, environ={})
    assert "HUB_TEST_KEY_PW" in unset.usable()[0].detail


def test_pkcs12(pki: pkimod.SandboxPKI, tmp_path: Path) -> None:
    p12 = tmp_path / "agency-ec.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"agency-ec", pki.load_key("agency-ec"), pki.load_cert("agency-ec"), [pki.load_issuer()[1]],
        serialization.BestAvailableEncryption(b"p12pw")))
    ring = KeyRing.from_config({"keys": {"ec": {"pkcs12": "agency-ec.p12", "password_env": "P12PW"}}},
                               base_dir=tmp_path, environ={"P12PW": "p12pw"})
    key = ring.signing_key("ec")
    assert key.jws_alg == "ES256" and key.chain == (pki.load_issuer()[1],)
    [entry] = [e for e in ring.inventory() if e.owner == "ec"]
    assert entry.subject.startswith("CN=agency-ec") and entry.warning is None


def test_missing_file_and_mismatched_key(pki: pkimod.SandboxPKI, tmp_path: Path) -> None:
    ring = KeyRing.from_config({"keys": {
        "gone": {"pem_key": "nope.key.pem", "pem_cert": "nope.cert.pem"},
        "mixed": {"pem_key": str(pki.key_path("agency")), "pem_cert": str(pki.cert_path("dvcqg"))},
    }}, base_dir=tmp_path)
    problems = {p.key: p.detail for p in ring.usable()}
    assert "not found" in problems["gone"] and "does not match" in problems["mixed"]
    assert ring.key_names() == ["gone", "mixed"]


def test_config_shape_errors(pki: pkimod.SandboxPKI) -> None:
    with pytest.raises(SigningConfigError) as exc:
        KeyRing.from_config({
            "keyz": {},
            "keys": {"a": {"pem_key": "k.pem", "pem_cert": "c.pem", "password": "literal!"},
                     "b": {"pem_key": "k.pem", "pkcs12": "x.p12"},
                     "c": {"pem_key": "k.pem"},
                     "d": {"sandbox": "agency"}},
            "trust": {"p": {}, "q": {"pinned": ["x.pem"], "jws_algs": ["none"]}},
        })
    text = "\n".join(exc.value.problems)
    for fragment in ("signing.keyz", "signing.keys.a.password: unknown field (give password_env",
                     "signing.keys.b: give exactly one", "signing.keys.c.pem_cert: required",
                     "signing.keys.d.sandbox: needs signing.sandbox_pki", "signing.trust.p: give ca",
                     "signing.trust.q.jws_algs: 'none'"):
        assert fragment in text
    assert "literal!" not in text


def test_unknown_partner_and_broken_trust(tmp_path: Path) -> None:
    ring = KeyRing.from_config({"trust": {"qlvb": {"pinned": ["missing.pem"]}}}, base_dir=tmp_path)
    with pytest.raises(SignatureError) as exc:
        ring.trust("qlvb")
    assert exc.value.code == "signature.no_trust_store" and "missing.pem" in exc.value.detail
    assert any(e.owner == "qlvb" and e.error for e in ring.inventory())


# --- inventory and usable ------------------------------------------------------------------------

def test_inventory_lists_keys_chains_and_trust(keyring: KeyRing) -> None:
    entries = keyring.inventory()
    kinds = {(e.kind, e.owner) for e in entries}
    assert ("key", "agency") in kinds and ("chain", "agency") in kinds and ("trust-pinned", "qlvb") in kinds
    assert ("trust-ca", "agency-ca") in kinds
    for e in entries:
        assert e.subject and e.issuer and e.not_after and e.days_left is not None and e.days_left > 300
        assert e.warning is None and e.error is None


def test_inventory_warns_30_days_ahead_and_usable_flags_expired(pki: pkimod.SandboxPKI, tmp_path: Path) -> None:
    def write(name: str, days_to: int, days_from: int = -1) -> dict[str, str]:
        key, cert = pkimod.make_cert(pki, name, days_from=days_from, days_to=days_to)
        (tmp_path / f"{name}.key.pem").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        (tmp_path / f"{name}.cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return {"pem_key": f"{name}.key.pem", "pem_cert": f"{name}.cert.pem"}
    ring = KeyRing.from_config({"keys": {"soon": write("soon", 10), "later": write("later", 90),
                                         "old": write("old", -5, -100)}}, base_dir=tmp_path)
    by_owner = {e.owner: e for e in ring.inventory()}
    assert by_owner["soon"].warning and "expires in" in by_owner["soon"].warning and by_owner["soon"].days_left in (9, 10)
    assert by_owner["later"].warning is None
    assert by_owner["old"].warning and "expired" in by_owner["old"].warning
    problems = ring.usable()
    assert [p.key for p in problems] == ["old"] and "expired" in problems[0].detail
    # 95 days from now, 'later' is unusable too
    assert {p.key for p in ring.usable(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=95))} == {"old", "later", "soon"}
