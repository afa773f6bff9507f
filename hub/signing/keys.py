"""Signing keys and per-partner trust stores, loaded once from the ``signing:`` section of config/hub.yaml.

The section (what :meth:`KeyRing.from_config` takes, as parsed YAML)::

    signing:
      sandbox_pki: var/pki            # optional: generate/load the sandbox PKI here; enables {sandbox: <name>}
      warn_days: 30                   # inventory warns when a certificate has fewer days left
      keys:                           # OUR signing keys, by name (routes say `sign: {key: agency}`)
        agency:                       # PEM: key + certificate + chain (intermediates, leaf first order not needed)
          pem_key: /etc/lgsp/agency.key.pem
          pem_cert: /etc/lgsp/agency.cert.pem
          chain: [/etc/lgsp/issuing-ca.pem]
          password_env: HUB_AGENCY_KEY_PASSWORD     # optional; the NAME of an env var, never the password
          kid: agency-2025                          # optional JWS key id; default: x5t#S256 of the certificate
        agency-p12:
          pkcs12: /etc/lgsp/agency.p12              # key, certificate and chain in one file
          password_env: HUB_AGENCY_P12_PASSWORD
        agency-sandbox: {sandbox: agency}           # key, cert and chain from the sandbox PKI
      trust:                          # THEIR certificates, one store per partner; nothing else is ever trusted
        qlvb:
          ca: [/etc/lgsp/trust/ca-chinh-phu.pem]    # anchors: any certificate chaining to these is accepted
          pinned: [/etc/lgsp/trust/qlvb-signer.pem] # exact certificates accepted as they are (still date/key checked)
          jws_algs: [RS256, ES256]                  # allow-list for JWS from this partner (default [RS256, ES256])
        dvcqg: {sandbox: dvcqg}                     # pinned = the sandbox dvcqg certificate (no CA)

Relative paths are resolved against ``base_dir`` (the directory holding config/). Public web CAs are never
consulted. Loading problems of one key do not stop the others: ``usable()`` lists them for /healthz and
``signing_key(name)`` raises :class:`KeyUnavailableError` for that key only. Shape errors (unknown fields,
a literal ``password``, both ``pem_key`` and ``pkcs12``) raise :class:`SigningConfigError` at once.
"""
from __future__ import annotations

import base64
import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from cryptography.exceptions import InvalidSignature
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from hub.signing.errors import KeyUnavailableError, SigningConfigError, SignatureError, NO_TRUST_STORE
from hub.signing.pki import SandboxPKI, ensure_sandbox_pki
from hub.signing import config as spec_checks, policy

PrivateKey = Union[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey]
DEFAULT_JWS_ALGS = ("RS256", "ES256")


def thumbprint(cert: x509.Certificate) -> str:
    """RFC 7515 ``x5t#S256``: the default key id, stable and derivable by the partner from the certificate."""
    return base64.urlsafe_b64encode(cert.fingerprint(hashes.SHA256())).rstrip(b"=").decode()


@dataclass(frozen=True)
class SigningKey:
    name: str
    private_key: PrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    kid: str

    @property
    def jws_alg(self) -> str:
        return "ES256" if isinstance(self.private_key, ec.EllipticCurvePrivateKey) else "RS256"


@dataclass(frozen=True)
class TrustStore:
    partner: str
    cas: tuple[x509.Certificate, ...]
    pinned: tuple[x509.Certificate, ...]
    jws_algs: frozenset[str]
    jws_keys: Mapping[str, x509.Certificate] = field(default_factory=dict)   # kid -> certificate (pinned only)

    def is_pinned(self, cert: x509.Certificate) -> bool:
        der = cert.public_bytes(serialization.Encoding.DER)
        return any(p.public_bytes(serialization.Encoding.DER) == der for p in self.pinned)


@dataclass(frozen=True)
class InventoryEntry:
    kind: str            # key | chain | trust-ca | trust-pinned
    owner: str           # key name or partner
    path: str
    subject: str = ""
    issuer: str = ""
    serial: str = ""
    not_after: str = ""  # ISO 8601 UTC
    days_left: int | None = None
    warning: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Problem:
    key: str
    detail: str
    code: str = "signature.key_unavailable"


class KeyRing:
    def __init__(self, keys: Mapping[str, SigningKey], trust: Mapping[str, TrustStore],
                 load_errors: Mapping[str, str] | None = None, sources: list[tuple[str, str, str]] | None = None,
                 warn_days: int = 30) -> None:
        self._keys = dict(keys)
        self._trust = dict(trust)
        self._errors = dict(load_errors or {})     # "keys.<name>" / "trust.<partner>" -> why it failed to load
        self._sources = list(sources or [])        # (kind, owner, path) for the inventory
        self.warn_days = warn_days

    # --- lookups on the hot path: no I/O -------------------------------------------------------
    def signing_key(self, name: str) -> SigningKey:
        key = self._keys.get(name)
        if key is None:
            raise KeyUnavailableError(self._errors.get(f"keys.{name}", f"no signing key named {name!r}"))
        return key

    def trust(self, partner: str) -> TrustStore:
        store = self._trust.get(partner)
        if store is None:
            why = self._errors.get(f"trust.{partner}", f"no trust store for partner {partner!r}")
            raise SignatureError(NO_TRUST_STORE, why)
        return store

    def anchor_for(self, cert: x509.Certificate) -> x509.Certificate | None:
        """A CA certificate in any trust store that issued ``cert`` (the root above our chain, for evidence)."""
        for store in self._trust.values():
            for ca in store.cas:
                if ca.subject == cert.issuer:
                    try:
                        cert.verify_directly_issued_by(ca)
                    except (ValueError, TypeError, InvalidSignature):
                        continue
                    return ca
        return None

    def key_names(self) -> list[str]:
        return sorted({*self._keys, *(k[5:] for k in self._errors if k.startswith("keys."))})

    # --- operations views ----------------------------------------------------------------------
    def inventory(self, now: dt.datetime | None = None) -> list[InventoryEntry]:
        now = now or dt.datetime.now(dt.timezone.utc)
        out: list[InventoryEntry] = []
        for kind, owner, path in self._sources:
            out.extend(self._describe(kind, owner, path, now))
        for where, why in sorted(self._errors.items()):
            out.append(InventoryEntry(kind=where.split(".", 1)[0].rstrip("s"), owner=where.split(".", 1)[1],
                                      path="", error=why))
        return out

    def usable(self, now: dt.datetime | None = None) -> list[Problem]:
        """Why a signing key cannot sign now (feeds /healthz: any problem makes it red)."""
        now = now or dt.datetime.now(dt.timezone.utc)
        problems = [Problem(where[5:], why) for where, why in sorted(self._errors.items()) if where.startswith("keys.")]
        for name, key in sorted(self._keys.items()):
            cert = key.certificate
            if now < cert.not_valid_before_utc:
                problems.append(Problem(name, f"certificate not valid before {cert.not_valid_before_utc.isoformat()}"))
            elif now > cert.not_valid_after_utc:
                problems.append(Problem(name, f"certificate expired on {cert.not_valid_after_utc.isoformat()}"))
            weak = policy.key_weakness(cert.public_key())
            if weak:
                problems.append(Problem(name, weak))
        return problems

    def _describe(self, kind: str, owner: str, path: str, now: dt.datetime) -> list[InventoryEntry]:
        if not path.endswith(".pem"):   # PKCS#12: describe the loaded certificate instead of re-reading the file
            key = self._keys.get(owner)
            if key is None or kind != "key":
                return []               # its load error is listed separately
            certs = [key.certificate]
        else:
            try:
                certs = x509.load_pem_x509_certificates(Path(path).read_bytes())
            except (OSError, ValueError) as exc:
                return [InventoryEntry(kind, owner, path, error=f"cannot read certificate: {exc.__class__.__name__}")]
        out = []
        for cert in certs:
            left = (cert.not_valid_after_utc - now).days
            warning = None
            if cert.not_valid_after_utc < now:
                warning = f"expired {-left} day(s) ago"
            elif left < self.warn_days:
                warning = f"expires in {left} day(s): renew it"
            out.append(InventoryEntry(kind, owner, path, cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(),
                                      format(cert.serial_number, "x"), cert.not_valid_after_utc.isoformat(), left, warning))
        return out

    # --- construction --------------------------------------------------------------------------
    @classmethod
    def from_config(cls, section: Mapping[str, Any], *, base_dir: str | os.PathLike[str] = ".",
                    environ: Mapping[str, str] | None = None) -> "KeyRing":
        env = os.environ if environ is None else environ
        base = Path(base_dir)
        problems: list[str] = []
        sandbox: SandboxPKI | None = None
        if section.get("sandbox_pki"):
            sandbox = ensure_sandbox_pki(_resolve(base, str(section["sandbox_pki"])))
        keys_cfg = section.get("keys") or {}
        trust_cfg = section.get("trust") or {}
        problems += [str(p) for p in spec_checks.check_shape(section, sandbox.names if sandbox else None)]
        if problems:
            raise SigningConfigError(problems)

        keys: dict[str, SigningKey] = {}
        trust: dict[str, TrustStore] = {}
        errors: dict[str, str] = {}
        sources: list[tuple[str, str, str]] = []
        for name, spec in keys_cfg.items():
            spec = _sandbox_key_spec(spec, sandbox)
            sources.append(("key", name, str(_resolve(base, spec.get("pem_cert") or spec["pkcs12"]))))
            sources += [("chain", name, str(_resolve(base, p))) for p in spec.get("chain", [])]
            try:
                keys[name] = _load_key(name, spec, base, env)
            except KeyUnavailableError as exc:
                errors[f"keys.{name}"] = exc.detail
        for partner, spec in trust_cfg.items():
            spec = _sandbox_trust_spec(spec, sandbox, partner)
            sources += [("trust-ca", partner, str(_resolve(base, p))) for p in spec.get("ca", [])]
            sources += [("trust-pinned", partner, str(_resolve(base, p))) for p in spec.get("pinned", [])]
            try:
                trust[partner] = _load_trust(partner, spec, base)
            except (OSError, ValueError) as exc:
                errors[f"trust.{partner}"] = f"cannot load trust store: {exc}"
        return cls(keys, trust, errors, sources, int(section.get("warn_days", 30)))


def _resolve(base: Path, path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else base / p


def _sandbox_key_spec(spec: Mapping[str, Any], sandbox: SandboxPKI | None) -> Mapping[str, Any]:
    if "sandbox" not in spec or sandbox is None:
        return spec
    name = spec["sandbox"]
    return {"pem_key": str(sandbox.key_path(name)), "pem_cert": str(sandbox.cert_path(name)),
            "chain": [str(p) for p in sandbox.chain_paths(name)], **{k: v for k, v in spec.items() if k == "kid"}}


def _sandbox_trust_spec(spec: Mapping[str, Any], sandbox: SandboxPKI | None, partner: str) -> Mapping[str, Any]:
    if "sandbox" not in spec or sandbox is None:
        return spec
    name = spec["sandbox"]
    # Pinned only: every sandbox certificate chains to the same root, so trusting the root would let one
    # simulator pass for another. Add `ca: [var/pki/root-ca.cert.pem]` explicitly to exercise chains.
    return {"ca": list(spec.get("ca", [])),
            "pinned": [str(sandbox.cert_path(name)), *spec.get("pinned", [])],
            **({"jws_algs": spec["jws_algs"]} if "jws_algs" in spec else {})}


def _password(spec: Mapping[str, Any], env: Mapping[str, str]) -> bytes | None:
    var = spec.get("password_env")
    if not var:
        return None
    value = env.get(var)
    if value is None:
        raise KeyUnavailableError(f"environment variable {var} (password_env) is not set")
    return value.encode()


def _load_key(name: str, spec: Mapping[str, Any], base: Path, env: Mapping[str, str]) -> SigningKey:
    password = _password(spec, env)
    try:
        if "pkcs12" in spec:
            data = _resolve(base, spec["pkcs12"]).read_bytes()
            key, cert, extra = pkcs12.load_key_and_certificates(data, password)
            chain = tuple(extra)
        else:
            key = serialization.load_pem_private_key(_resolve(base, spec["pem_key"]).read_bytes(), password)
            cert = x509.load_pem_x509_certificate(_resolve(base, spec["pem_cert"]).read_bytes())
            chain = tuple(c for p in spec.get("chain", []) for c in x509.load_pem_x509_certificates(_resolve(base, p).read_bytes()))
    except FileNotFoundError as exc:
        raise KeyUnavailableError(f"file not found: {exc.filename}") from None
    except OSError as exc:
        raise KeyUnavailableError(f"cannot read {exc.filename}: {exc.strerror}") from None
    except (ValueError, TypeError) as exc:
        # cryptography says "Bad decrypt. Incorrect password?" or "Password was not given but..."; never echo data.
        raise KeyUnavailableError(f"cannot load key (wrong password_env value or not a key file): {exc}") from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)) or cert is None:
        raise KeyUnavailableError("need an RSA or EC private key with its certificate")
    if key.public_key().public_numbers() != cert.public_key().public_numbers():  # type: ignore[union-attr]
        raise KeyUnavailableError("private key does not match the certificate")
    return SigningKey(name, key, cert, chain, str(spec.get("kid") or thumbprint(cert)))


def _load_trust(partner: str, spec: Mapping[str, Any], base: Path) -> TrustStore:
    def certs(paths: list[str]) -> tuple[x509.Certificate, ...]:
        return tuple(c for p in paths for c in x509.load_pem_x509_certificates(_resolve(base, p).read_bytes()))
    pinned = certs(spec.get("pinned", []))
    return TrustStore(partner, certs(spec.get("ca", [])), pinned,
                      frozenset(spec.get("jws_algs", DEFAULT_JWS_ALGS)), {thumbprint(c): c for c in pinned})
