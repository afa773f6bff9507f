"""Evidence bundles: one message's signed or verified bytes, signatures, certificates and trace in a zip, and
the offline check of such a zip (no store, no config, no network: only what is inside).

Layout::

    manifest.json           message id, export time, one entry per evidence record (names of its files below)
    trace.json              the message's hops (and deliveries) as recorded
    evidence/N/data.bin     the exact bytes signed and sent, or received and verified
    evidence/N/signature.jws   detached JWS (format jws only; XML-DSig is inside data.bin)
    evidence/N/certificates.pem  the signer's certificate first, then its chain
    evidence/N/ca.pem       the trust anchors (CA or pinned certificates) it was checked against

The check, for each record: SHA-256 of data.bin equals the manifest's and a hop of the trace names it; the
signature verifies with the bundled certificate, and that certificate chains to the bundled CA (or is pinned
there) at the recorded time — with the same rules as the hub (hub.signing.xmldsig / jws / policy).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from hub.signing import jws, policy, xmldsig
from hub.signing.errors import UNKNOWN_KEY, SigningError
from hub.signing.keys import KeyRing, TrustStore, thumbprint

BUNDLE_PARTNER = "evidence-bundle"
JWS_ALGS = frozenset({"RS256", "ES256"})


def _json_default(value: Any) -> str:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)


def build(message_id: str, record: dict[str, Any], evidence: list[dict[str, Any]]) -> bytes:
    """The zip for one message: ``record`` from Store.message (its trace), ``evidence`` from store.evidence_for."""
    out = io.BytesIO()
    entries = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, ev in enumerate(evidence, 1):
            base = f"evidence/{n}/"
            files = {"data": base + "data.bin", "certificates": base + "certificates.pem", "ca": base + "ca.pem"}
            zf.writestr(files["data"], ev["data"])
            zf.writestr(files["certificates"], ev["certificates"])
            zf.writestr(files["ca"], ev["anchors"])
            if ev.get("signature"):
                files["signature"] = base + "signature.jws"
                zf.writestr(files["signature"], ev["signature"])
            entries.append({"n": n, "action": ev["action"], "format": ev["format"], "sha256": ev["sha256"],
                            "at": ev["at"], "delivery_id": ev["delivery_id"], **ev["meta"], "files": files})
        # the trace holds no payload: hops and delivery states only (the envelope stays in the store)
        trace = {"message_id": message_id,
                 "hops": record.get("hops", []),
                 "deliveries": [{k: d.get(k) for k in ("id", "route", "connector", "state", "attempts", "last_code")}
                                for d in record.get("deliveries", [])]}
        zf.writestr("trace.json", json.dumps(trace, default=_json_default, ensure_ascii=False, indent=2))
        manifest = {"message_id": message_id, "exported_at": dt.datetime.now(dt.timezone.utc), "evidence": entries}
        zf.writestr("manifest.json", json.dumps(manifest, default=_json_default, ensure_ascii=False, indent=2))
    return out.getvalue()


@dataclass
class Check:
    name: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{'OK  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


def verify(raw: bytes) -> list[Check]:
    """Every check of the bundle; the bundle is good when there is at least one record and every check is ok."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            bad = zf.testzip()    # CRC of every member: a flipped byte anywhere in the zip is caught here
            if bad is not None:
                return [Check("zip", False, f"member {bad} is corrupt (CRC mismatch)")]
            files = {name: zf.read(name) for name in zf.namelist()}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        return [Check("zip", False, f"not a readable zip: {exc}")]
    try:
        manifest = json.loads(files["manifest.json"])
        trace = json.loads(files["trace.json"])
    except (KeyError, ValueError) as exc:
        return [Check("manifest", False, f"manifest.json or trace.json missing or not JSON: {exc}")]
    entries = manifest.get("evidence") or []
    if not entries:
        return [Check("manifest", False, f"no evidence records for message {manifest.get('message_id')}")]
    details = [str(h.get("detail") or "") for h in trace.get("hops", []) if h.get("kind") in ("signed", "verified")]
    checks = []
    for entry in entries:
        checks += _verify_entry(entry, files, details)
    return checks


def _verify_entry(entry: dict[str, Any], files: dict[str, bytes], hop_details: list[str]) -> list[Check]:
    name = f"#{entry.get('n')} {entry.get('action')} {entry.get('format')} key={entry.get('key')}"
    try:
        paths = entry["files"]
        data = files[paths["data"]]
        certs = x509.load_pem_x509_certificates(files[paths["certificates"]])
        anchors = tuple(x509.load_pem_x509_certificates(files[paths["ca"]]))
        token = files[paths["signature"]].decode("ascii") if "signature" in paths else None
    except (KeyError, ValueError, UnicodeDecodeError) as exc:
        return [Check(name, False, f"bundle incomplete or unreadable: {type(exc).__name__}: {exc}")]
    checks = []
    digest = hashlib.sha256(data).hexdigest()
    checks.append(Check(name + " digest", digest == entry.get("sha256"),
                        f"sha256 of the bytes {digest} vs recorded {entry.get('sha256')}"))
    in_trace = any(f"sha256={entry.get('sha256')} " in d for d in hop_details)
    checks.append(Check(name + " trace", in_trace, "a hop of the trace records this digest" if in_trace
                        else "no signed/verified hop of the trace records this digest"))
    at = policy.utc(dt.datetime.fromisoformat(entry["at"]))
    try:
        signer = _verify_signature(entry, data, token, certs, anchors, at)
    except SigningError as exc:
        checks.append(Check(name + " signature", False, f"{exc.code}: {exc.detail}"))
        return checks
    same = thumbprint(signer) == entry.get("thumbprint")
    checks.append(Check(name + " signature", same,
                        f"valid at {at.isoformat()}, signer {signer.subject.rfc4514_string()}, chains to the bundled CA"
                        if same else f"signed by {thumbprint(signer)}, not the recorded certificate {entry.get('thumbprint')}"))
    return checks


def _verify_signature(entry: dict[str, Any], data: bytes, token: str | None, certs: list[x509.Certificate],
                      anchors: tuple[x509.Certificate, ...], at: dt.datetime) -> x509.Certificate:
    """The signer's certificate, once the signature and its chain to ``anchors`` are verified; else SigningError."""
    if entry.get("format") == "xmldsig":
        cas = tuple(a for a in anchors if _is_ca(a))
        pinned = tuple(a for a in anchors if not _is_ca(a))
        ring = KeyRing({}, {BUNDLE_PARTNER: TrustStore(BUNDLE_PARTNER, cas, pinned, frozenset())})
        result = xmldsig.verify(data, BUNDLE_PARTNER, entry.get("location") or "/*/ds:Signature", keyring=ring,
                                namespaces=entry.get("namespaces") or None, signing_time=at)
        return result.certificate
    if not certs:
        raise SigningError(UNKNOWN_KEY, "the bundle holds no signer certificate for the JWS")
    leaf = certs[0]
    if leaf not in anchors:       # pinned certificates are trusted as they are; others must chain to the CA
        policy.check_certificate(leaf, at)
        policy.verify_chain(leaf, list(certs[1:]), tuple(a for a in anchors if _is_ca(a)), at)
    # the key is the bundled certificate, whatever kid the header names (kid is checked against nothing else)
    kid = str(jws._decode_header((token or "").split(".")[0]).get("kid") or thumbprint(leaf)) if token else thumbprint(leaf)
    ring = KeyRing({}, {BUNDLE_PARTNER: TrustStore(BUNDLE_PARTNER, (), (leaf,), JWS_ALGS, {kid: leaf})})
    jws.verify_detached(token, data, BUNDLE_PARTNER, keyring=ring, at=at)
    return leaf


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False
