"""The message page's signature panel: what was signed or verified, with which key or trust store and certificate,
and the outcome.

Read from what the hub already records, nothing new is written:

* ``signed`` / ``verified`` hops: their detail is the :class:`~hub.signing.evidence.Evidence` line
  (``key=... format=... alg=... serial=... x5t#S256=... sha256=... subject=...``);
* the evidence row stored with each such hop (hub/store/tables_evidence.py): the signer's certificate, for its
  issuer and validity. Only public columns are read; the exact bytes (encrypted, may hold personal data) are not;
* ``failed`` hops with ``delivery.sign_failed`` / ``delivery.verify_failed``: a step that refused, with the key or
  trust store named in its reason (hub/pipeline.py writes ``key NAME: ...`` / ``trust NAME: [code] ...``).

Subjects, issuers and reasons pass through the log masking: a personal certificate may name a citizen.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from cryptography import x509
from sqlalchemy import select

from hub import errors
from hub.logging import mask_value
from hub.store import Store
from hub.store.tables_evidence import signature_evidence

FIELDS = ("key", "format", "alg", "serial", "x5t#S256", "sha256")
FAILURES = {errors.DLV_SIGN: ("sign", "sign_failed"), errors.DLV_VERIFY: ("verify", "verify_failed")}
_FIELD_RE = re.compile(r"(key|format|alg|serial|x5t#S256|sha256)=(\S*)")
_NAMED_RE = re.compile(r"^(?:key|trust) ([^:\s]+):")


def evidence_fields(detail: str | None) -> dict[str, str]:
    """The key=value fields of an Evidence line; ``subject`` is the rest of the line (it contains spaces)."""
    text = detail or ""
    head, _, subject = text.partition(" subject=")
    fields = dict(_FIELD_RE.findall(head))
    if subject:
        fields["subject"] = subject
    return fields


def _certificate(pem: str) -> dict[str, Any]:
    """Issuer and expiry of the first certificate in a PEM bundle; empty when there is none or it is unreadable."""
    if "BEGIN CERTIFICATE" not in (pem or ""):
        return {}
    try:
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except ValueError:
        return {}
    return {"issuer": cert.issuer.rfc4514_string(), "not_after": cert.not_valid_after_utc}


def _evidence_rows(store: Store, message_id: str) -> dict[tuple[str | None, str], dict[str, Any]]:
    q = (select(signature_evidence.c.delivery_id, signature_evidence.c.sha256, signature_evidence.c.action,
                signature_evidence.c.certificates)
         .where(signature_evidence.c.message_id == message_id).order_by(signature_evidence.c.id))
    with store.engine.connect() as conn:
        return {(r.delivery_id, r.sha256): dict(r._mapping) for r in conn.execute(q)}


def _when(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value or "")


def signature_results(store: Store, message_id: str, hops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per sign / verify outcome of the message, in the order of its hops."""
    evidence = None
    rows: list[dict[str, Any]] = []
    for hop in hops:
        if hop["kind"] in ("signed", "verified"):
            if evidence is None:
                evidence = _evidence_rows(store, message_id)
            fields = evidence_fields(hop["detail"])
            cert = _certificate((evidence.get((hop["delivery"], fields.get("sha256", ""))) or {})
                                .get("certificates", ""))
            rows.append({"at": _when(hop["at"]), "delivery": hop["delivery"], "ok": True,
                         "step": "sign" if hop["kind"] == "signed" else "verify",
                         "outcome": "sig_" + hop["kind"], "key": fields.get("key", ""),
                         "format": fields.get("format", ""), "algorithm": fields.get("alg", ""),
                         "subject": mask_value(fields.get("subject", "")), "serial": fields.get("serial", ""),
                         "thumbprint": fields.get("x5t#S256", ""), "sha256": fields.get("sha256", ""),
                         "issuer": mask_value(cert.get("issuer", "")), "not_after": cert.get("not_after"),
                         "reason": "", "code": ""})
        elif hop["kind"] == "failed" and hop["code"] in FAILURES:
            step, outcome = FAILURES[hop["code"]]
            named = _NAMED_RE.match(hop["detail"] or "")
            rows.append({"at": _when(hop["at"]), "delivery": hop["delivery"], "ok": False, "step": step,
                         "outcome": "sig_" + outcome, "key": named.group(1) if named else "", "format": "",
                         "algorithm": "", "subject": "", "serial": "", "thumbprint": "", "sha256": "",
                         "issuer": "", "not_after": None, "reason": mask_value(hop["detail"] or ""),
                         "code": hop["code"]})
    return rows
