"""Checks of the ``signing:`` section and of routes' ``sign`` steps, as structured problems.

Two callers: :meth:`hub.signing.keys.KeyRing.from_config` (shape only: it tolerates a key that fails to load,
so one bad key does not stop the others) and the config loader (shape + files + password variables + sign
steps, each problem with its YAML path so ``run.py check`` can name the file and the line).
Nothing here generates the sandbox PKI or reads a key: checking a config must stay cheap and side-effect free.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.signing import pki, policy

KEY_FIELDS = frozenset({"pem_key", "pem_cert", "chain", "pkcs12", "password_env", "kid", "sandbox"})
TRUST_FIELDS = frozenset({"ca", "pinned", "jws_algs", "sandbox"})
SECTION_FIELDS = ("sandbox_pki", "warn_days", "keys", "trust")
#: options of a route's ``sign`` step (see hub.signing.service.SigningService.sign)
SIGN_STEP_OPTIONS = frozenset({"format", "signature_parent", "namespaces", "header", "unencoded"})
SIGN_FORMATS = ("xmldsig", "jws")
VERIFY_STEP_OPTIONS = frozenset({"field", "format", "signature", "namespaces", "expect_references", "jws_field",
                                 "base64"})
_FIX_SHAPE = "see docs/signing.md for the form of the signing: section"


@dataclass(frozen=True)
class SpecProblem:
    path: tuple[str, ...]          # YAML path, e.g. ("signing", "keys", "agency", "pem_key")
    message: str
    fix: str = _FIX_SHAPE

    def __str__(self) -> str:
        return f"{'.'.join(self.path)}: {self.message}"


def base_dir(config_directory: str | os.PathLike[str]) -> Path:
    """Relative paths in the section resolve against the directory holding config/ (the hub's home)."""
    return Path(config_directory).resolve().parent


def resolve(base: Path, path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else base / p


def sandbox_names(section: Mapping[str, Any], base: Path) -> tuple[str, ...] | None:
    """Names the sandbox PKI has (or will have once generated); None when no sandbox_pki is configured."""
    if not section.get("sandbox_pki"):
        return None
    manifest = resolve(base, str(section["sandbox_pki"])) / "manifest.json"
    try:
        return tuple(json.loads(manifest.read_text("utf-8"))["names"])
    except (OSError, ValueError, KeyError):
        return (pki.AGENCY, pki.AGENCY_EC, *pki.DEFAULT_PARTNERS)


def check_shape(section: Mapping[str, Any], sandbox: tuple[str, ...] | None) -> list[SpecProblem]:
    if not isinstance(section, Mapping):
        return [SpecProblem(("signing",), "expected a mapping")]
    out = [SpecProblem(("signing", str(k)), f"unknown field (expected {', '.join(SECTION_FIELDS)})")
           for k in sorted(set(section) - set(SECTION_FIELDS))]
    warn = section.get("warn_days", 30)
    if not isinstance(warn, int) or isinstance(warn, bool) or warn < 0:
        out.append(SpecProblem(("signing", "warn_days"), f"{warn!r} is not a number of days",
                               "give a whole number of days, e.g. warn_days: 30"))
    for group, check in (("keys", _check_key_spec), ("trust", _check_trust_spec)):
        entries = section.get(group) or {}
        if not isinstance(entries, Mapping):
            out.append(SpecProblem(("signing", group), "expected a mapping of names"))
            continue
        for name, spec in entries.items():
            out += check(str(name), spec, sandbox)
    return out


def check_section(section: Mapping[str, Any], base: Path, environ: Mapping[str, str]) -> list[SpecProblem]:
    """Everything the config loader refuses: shape, missing files, unset password variables."""
    sandbox = sandbox_names(section, base) if isinstance(section, Mapping) else None
    problems = check_shape(section, sandbox)
    if problems:
        return problems
    for name, spec in (section.get("keys") or {}).items():
        where = ("signing", "keys", str(name))
        problems += _missing_files(where, spec, ("pem_key", "pem_cert", "pkcs12", "chain"), base)
        var = spec.get("password_env")
        if var and var not in environ:
            problems.append(SpecProblem(where + ("password_env",), f"environment variable {var} is not set",
                                        f"export {var}=<the key's password> before starting the hub"))
    for partner, spec in (section.get("trust") or {}).items():
        problems += _missing_files(("signing", "trust", str(partner)), spec, ("ca", "pinned"), base)
    return problems


def check_sign_step(key: Any, options: Mapping[str, Any], section: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(message, fix) for a route step ``{sign: KEY, options: {...}}``."""
    out: list[tuple[str, str]] = []
    keys = sorted((section.get("keys") or {}) if isinstance(section, Mapping) else {})
    if key not in keys:
        out.append((f"sign step names key '{key}', which is not under signing.keys",
                    f"use one of: {', '.join(keys)}" if keys else "add the key under signing.keys in hub.yaml"))
    for name in sorted(set(options) - SIGN_STEP_OPTIONS):
        out.append((f"sign step option '{name}' is not known", f"allowed: {', '.join(sorted(SIGN_STEP_OPTIONS))}"))
    fmt = options.get("format")
    if fmt is not None and fmt not in SIGN_FORMATS:
        out.append((f"sign step format '{fmt}' is not known", f"use one of: {', '.join(SIGN_FORMATS)}"))
    return out


def check_verify_step(partner: Any, options: Mapping[str, Any], section: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(message, fix) for a route step ``{verify: TRUST, options: {field: ..., ...}}``."""
    out: list[tuple[str, str]] = []
    trust = sorted((section.get("trust") or {}) if isinstance(section, Mapping) else {})
    if partner not in trust:
        out.append((f"verify step names trust store '{partner}', which is not under signing.trust",
                    f"use one of: {', '.join(trust)}" if trust else "add the trust store under signing.trust in hub.yaml"))
    for name in sorted(set(options) - VERIFY_STEP_OPTIONS):
        out.append((f"verify step option '{name}' is not known", f"allowed: {', '.join(sorted(VERIFY_STEP_OPTIONS))}"))
    if not isinstance(options.get("field"), str) or not options.get("field"):
        out.append(("verify step needs option 'field': the payload field holding the signed document or bytes",
                    "add options: {field: NAME} (dots for nested fields: document.xml)"))
    fmt = options.get("format", "xmldsig")
    if fmt not in SIGN_FORMATS:
        out.append((f"verify step format '{fmt}' is not known", f"use one of: {', '.join(SIGN_FORMATS)}"))
    elif fmt == "jws" and not options.get("jws_field"):
        out.append(("verify step with format jws needs option 'jws_field': the payload field holding the detached JWS",
                    "add jws_field: NAME"))
    return out


def _check_key_spec(name: str, spec: Any, sandbox: tuple[str, ...] | None) -> list[SpecProblem]:
    where = ("signing", "keys", name)
    if not isinstance(spec, Mapping):
        return [SpecProblem(where, "expected a mapping")]
    out = [SpecProblem(where + (str(k),), "unknown field (give password_env: the NAME of an environment variable)",
                       "remove the password from the file; set password_env: NAME and export NAME")
           if k == "password" else SpecProblem(where + (str(k),), "unknown field",
                                               f"allowed: {', '.join(sorted(KEY_FIELDS))}")
           for k in sorted(set(spec) - KEY_FIELDS)]
    kinds = [k for k in ("pem_key", "pkcs12", "sandbox") if k in spec]
    if len(kinds) != 1:
        out.append(SpecProblem(where, "give exactly one of pem_key (with pem_cert), pkcs12, sandbox"))
    if "pem_key" in spec and "pem_cert" not in spec:
        out.append(SpecProblem(where + ("pem_cert",), "required with pem_key", "name the key's certificate file"))
    out += _check_sandbox_ref(where, spec, sandbox)
    return out


def _check_trust_spec(partner: str, spec: Any, sandbox: tuple[str, ...] | None) -> list[SpecProblem]:
    where = ("signing", "trust", partner)
    if not isinstance(spec, Mapping):
        return [SpecProblem(where, "expected a mapping")]
    out = [SpecProblem(where + (str(k),), "unknown field", f"allowed: {', '.join(sorted(TRUST_FIELDS))}")
           for k in sorted(set(spec) - TRUST_FIELDS)]
    if not (spec.get("ca") or spec.get("pinned") or spec.get("sandbox")):
        out.append(SpecProblem(where, "give ca and/or pinned certificates (an empty store would trust nothing)"))
    out += _check_sandbox_ref(where, spec, sandbox)
    for alg in spec.get("jws_algs", []):
        if alg not in policy.JWS_ALGS:
            out.append(SpecProblem(where + ("jws_algs",),
                                   f"{alg!r} not allowed (choose from {', '.join(sorted(policy.JWS_ALGS))})",
                                   "HMAC and 'none' are never accepted for JWS"))
    return out


def _check_sandbox_ref(where: tuple[str, ...], spec: Mapping[str, Any], sandbox: tuple[str, ...] | None) -> list[SpecProblem]:
    if "sandbox" not in spec:
        return []
    if sandbox is None:
        return [SpecProblem(where + ("sandbox",), "needs signing.sandbox_pki", "set signing.sandbox_pki: var/pki")]
    if spec["sandbox"] not in sandbox:
        return [SpecProblem(where + ("sandbox",), f"no sandbox key {spec['sandbox']!r}; known: {', '.join(sandbox)}",
                            "use one of the known sandbox names")]
    return []


def _missing_files(where: tuple[str, ...], spec: Mapping[str, Any], fields: tuple[str, ...],
                   base: Path) -> list[SpecProblem]:
    out = []
    for field in fields:
        value = spec.get(field)
        paths = value if isinstance(value, list) else ([value] if value else [])
        for path in paths:
            if not resolve(base, str(path)).is_file():
                out.append(SpecProblem(where + (field,), f"file {path} does not exist",
                                       f"fix the path (relative paths start at {base}) or install the file"))
    return out
