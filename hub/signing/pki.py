"""Sandbox PKI: a test root CA, an issuing CA, the agency's signing keys and one certificate per partner.

Generated with ``cryptography`` the first time the hub starts in sandbox mode (``var/pki``, git-ignored);
later calls load what is there, so certificates stay stable across restarts and simulators and hub agree.
Layout (all PEM; private keys unencrypted, mode 0600, because they sign nothing real)::

    var/pki/root-ca.cert.pem        self-signed, from a year ago to 10 years ahead, CA (pathlen 1); its key is discarded
    var/pki/issuing-ca.*.pem        signed by root, -1y..+5y, CA (pathlen 0); issues every leaf below (key kept for tests)
    var/pki/<name>.key.pem          <name> = agency (RSA-2048), agency-ec (ECDSA P-256), one per partner (RSA-2048)
    var/pki/<name>.cert.pem         2 years, digitalSignature + nonRepudiation, SAN dNSName <name>.sandbox.lgsp.invalid
    var/pki/manifest.json           names and fingerprints; written last: its presence means "complete"

Trust in the sandbox = the root CA; a signature's KeyInfo carries leaf + issuing CA.
The ``make_*`` helpers build deliberately bad certificates for tests (expired, not yet valid, RSA-1024,
self-signed) without touching the directory.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = Union[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey]

AGENCY = "agency"
AGENCY_EC = "agency-ec"
DEFAULT_PARTNERS: tuple[str, ...] = ("dvcqg", "dancu", "qlvb", "paygov", "vnpay", "momo", "vnpost", "sms")
ROOT_CA = "root-ca"
ISSUING_CA = "issuing-ca"
_ORG = "LGSP hub sandbox"
_MANIFEST = "manifest.json"
# CAs start a year back so signatures can be checked "at signing time" in the past (tests, replays).
_CA_BACKDATE = dt.timedelta(days=365)


@dataclass(frozen=True)
class SandboxPKI:
    directory: Path
    names: tuple[str, ...]          # every leaf: agency, agency-ec, partners

    @property
    def root_ca_cert(self) -> Path:
        return self.directory / f"{ROOT_CA}.cert.pem"

    @property
    def issuing_ca_cert(self) -> Path:
        return self.directory / f"{ISSUING_CA}.cert.pem"

    def key_path(self, name: str) -> Path:
        return self._leaf(name, "key")

    def cert_path(self, name: str) -> Path:
        return self._leaf(name, "cert")

    def chain_paths(self, name: str) -> list[Path]:
        """Certificates between the leaf and the root (the root itself is the trust anchor, not sent)."""
        self._leaf(name, "cert")
        return [self.issuing_ca_cert]

    def load_key(self, name: str) -> PrivateKey:
        key = serialization.load_pem_private_key(self.key_path(name).read_bytes(), password=None)
        assert isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey))
        return key

    def load_cert(self, name: str) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_path(name).read_bytes())

    def load_issuer(self) -> tuple[PrivateKey, x509.Certificate]:
        """The issuing CA's key and certificate: tests use it to issue odd certificates that still chain."""
        key = serialization.load_pem_private_key((self.directory / f"{ISSUING_CA}.key.pem").read_bytes(), None)
        assert isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey))
        return key, x509.load_pem_x509_certificate(self.issuing_ca_cert.read_bytes())

    def _leaf(self, name: str, kind: str) -> Path:
        if name not in self.names:
            raise KeyError(f"no sandbox certificate named {name!r}; known: {', '.join(self.names)}")
        return self.directory / f"{name}.{kind}.pem"


def ensure_sandbox_pki(directory: str | os.PathLike[str], partners: tuple[str, ...] = DEFAULT_PARTNERS) -> SandboxPKI:
    """Load the sandbox PKI under ``directory``, generating it first if it is not there (idempotent).

    Generation happens in a sibling temporary directory renamed into place, so two processes starting at
    once cannot leave a half-written PKI: the loser of the rename uses the winner's files.
    """
    target = Path(directory)
    manifest = target / _MANIFEST
    if manifest.exists():
        return _load(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        _generate(tmp, partners)
        try:
            if target.exists():
                target.rmdir()          # only an empty leftover; a non-empty one raises and is not touched
            os.rename(tmp, target)
        except OSError:
            if not manifest.exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return _load(target)


def _load(target: Path) -> SandboxPKI:
    data = json.loads((target / _MANIFEST).read_text("utf-8"))
    return SandboxPKI(target, tuple(data["names"]))


def _generate(out: Path, partners: tuple[str, ...]) -> None:
    now = _now()
    root_key = rsa.generate_private_key(65537, 3072)
    root = _build(_name("LGSP hub sandbox root CA"), root_key.public_key(), _name("LGSP hub sandbox root CA"),
                  root_key, now - _CA_BACKDATE, now + dt.timedelta(days=3650), ca_pathlen=1)
    issuing_key = rsa.generate_private_key(65537, 2048)
    issuing = _build(_name("LGSP hub sandbox issuing CA"), issuing_key.public_key(), root.subject, root_key,
                     now - _CA_BACKDATE, now + dt.timedelta(days=1825), ca_pathlen=0, issuer_cert=root)
    # The root key is used once and dropped: nothing in the sandbox needs to issue another intermediate.
    (out / f"{ROOT_CA}.cert.pem").write_bytes(root.public_bytes(serialization.Encoding.PEM))
    _write(out, ISSUING_CA, issuing_key, issuing)
    names = (AGENCY, AGENCY_EC, *partners)
    fingerprints = {}
    for name in names:
        key: PrivateKey = ec.generate_private_key(ec.SECP256R1()) if name == AGENCY_EC else rsa.generate_private_key(65537, 2048)
        cert = issue_leaf(issuing_key, issuing, key, name, now - dt.timedelta(days=1), now + dt.timedelta(days=730))
        _write(out, name, key, cert)
        fingerprints[name] = cert.fingerprint(hashes.SHA256()).hex()
    (out / _MANIFEST).write_text(json.dumps({"names": list(names), "sha256": fingerprints}, indent=2), "utf-8")


def issue_leaf(issuer_key: PrivateKey, issuer: x509.Certificate, key: PrivateKey, name: str,
               not_before: dt.datetime, not_after: dt.datetime,
               hash_alg: hashes.HashAlgorithm | None = None) -> x509.Certificate:
    """A document-signing leaf: digitalSignature + nonRepudiation, SAN, EKU clientAuth/emailProtection."""
    return _build(_name(name), key.public_key(), issuer.subject, issuer_key, not_before, not_after,
                  issuer_cert=issuer, san=f"{name}.sandbox.lgsp.invalid", hash_alg=hash_alg)


def _build(subject: x509.Name, public_key: object, issuer_name: x509.Name, signer: PrivateKey,
           not_before: dt.datetime, not_after: dt.datetime, *, ca_pathlen: int | None = None,
           issuer_cert: x509.Certificate | None = None, san: str | None = None,
           hash_alg: hashes.HashAlgorithm | None = None) -> x509.Certificate:
    is_ca = ca_pathlen is not None
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
               .public_key(public_key)  # type: ignore[arg-type]
               .serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=is_ca, path_length=ca_pathlen), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=not is_ca, content_commitment=not is_ca,
                                            key_encipherment=False, data_encipherment=False, key_agreement=False,
                                            key_cert_sign=is_ca, crl_sign=is_ca, encipher_only=False,
                                            decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))  # type: ignore[arg-type]
    if issuer_cert is not None:
        ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
    else:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False)  # type: ignore[arg-type]
    if san is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH,
                                                               ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
    return builder.sign(signer, hash_alg or hashes.SHA256())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORG),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(out: Path, name: str, key: PrivateKey, cert: x509.Certificate) -> None:
    key_path = out / f"{name}.key.pem"
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    (out / f"{name}.cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


# --- deliberately bad certificates, for tests ------------------------------------------------------

def make_cert(pki: SandboxPKI, name: str, *, days_from: int = -1, days_to: int = 365, key_type: str = "rsa",
              key_size: int = 2048, self_signed: bool = False,
              hash_alg: hashes.HashAlgorithm | None = None) -> tuple[PrivateKey, x509.Certificate]:
    """A leaf for ``name``, issued by the sandbox issuing CA (or self-signed), valid from/to days around now."""
    key: PrivateKey = (ec.generate_private_key(ec.SECP256R1()) if key_type == "ec"
                       else rsa.generate_private_key(65537, key_size))
    now = _now()
    if self_signed:
        cert = _build(_name(name), key.public_key(), _name(name), key, now + dt.timedelta(days=days_from),
                      now + dt.timedelta(days=days_to), san=f"{name}.sandbox.lgsp.invalid", hash_alg=hash_alg)
        return key, cert
    issuer_key, issuer = pki.load_issuer()
    return key, issue_leaf(issuer_key, issuer, key, name, now + dt.timedelta(days=days_from),
                           now + dt.timedelta(days=days_to), hash_alg=hash_alg)


def make_expired_cert(pki: SandboxPKI, name: str = "expired") -> tuple[PrivateKey, x509.Certificate]:
    return make_cert(pki, name, days_from=-400, days_to=-10)


def make_not_yet_valid_cert(pki: SandboxPKI, name: str = "future") -> tuple[PrivateKey, x509.Certificate]:
    return make_cert(pki, name, days_from=10, days_to=400)


def make_weak_rsa_cert(pki: SandboxPKI, name: str = "weak") -> tuple[PrivateKey, x509.Certificate]:
    return make_cert(pki, name, key_size=1024)


def make_untrusted_cert(name: str = "untrusted", pki: SandboxPKI | None = None) -> tuple[PrivateKey, x509.Certificate]:
    """Self-signed: chains to nothing any partner trusts."""
    return make_cert(pki or SandboxPKI(Path("."), ()), name, self_signed=True)
