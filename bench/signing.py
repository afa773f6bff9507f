#!/usr/bin/env python3
"""Signing micro-benchmark: what XML-DSig (signxml) and JWS cost next to the raw RSA operation they wrap.

    .venv/bin/python bench/signing.py [--seconds 2] [--pki var/pki]

Measured in one run on the same key, so the ratio holds across machines even when the rates do not.
Prints one JSON document. DESIGN.md's budget: signxml on a 5 KB edXML ~0.7-1.0 ms, RSA-2048 itself ~0.27 ms.
Not part of the test suite.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding  # noqa: E402
from lxml import etree  # noqa: E402

from hub.signing import jws, xmldsig  # noqa: E402
from hub.signing.keys import KeyRing  # noqa: E402
from hub.signing.service import SigningService  # noqa: E402

EDXML = xmldsig.EDXML


def edxml_document(size: int = 5000) -> etree._Element:
    """An edXML-like envelope of about ``size`` bytes: header, trace list, a body of Vietnamese text."""
    def sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
        el = etree.SubElement(parent, f"{{{EDXML}}}{name}")
        el.text = text
        return el
    env = etree.Element(f"{{{EDXML}}}edXMLEnvelope", nsmap={"edXML": EDXML})
    header = sub(env, "edXMLHeader")
    msg = sub(header, "MessageHeader")
    for name, value in (("From", "000.00.14.H20"), ("To", "000.00.00.G22"), ("Code", "123/UBND-VP"),
                        ("Subject", "Về việc cấp giấy phép xây dựng"), ("PromulgationDate", "2025-01-01")):
        sub(msg, name, value)
    traces = sub(header, "TraceHeaderList")
    for i in range(3):
        trace = sub(traces, "TraceHeader")
        sub(trace, "OrganId", f"000.00.{i:02d}.H20")
        sub(trace, "Timestamp", f"2025-01-01T08:0{i}:00+07:00")
    body = sub(sub(env, "edXMLBody"), "Content")
    paragraph = "Ủy ban nhân dân tỉnh đề nghị các sở, ban, ngành phối hợp giải quyết hồ sơ đúng hạn. "
    while len(etree.tostring(env)) < size:
        sub(body, "Paragraph", paragraph)
    return env


def rate(fn: Callable[[], object], seconds: float) -> dict[str, float]:
    fn()  # warm-up (imports, caches)
    n, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        fn()
        n += 1
    return {"per_second": round(n / elapsed, 1), "ms_each": round(elapsed / n * 1000, 4), "n": n}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--pki", default=str(ROOT / "var" / "pki"), help="sandbox PKI directory (made if missing)")
    args = parser.parse_args()

    ring = KeyRing.from_config({"sandbox_pki": args.pki, "keys": {"agency": {"sandbox": "agency"}},
                                "trust": {"agency": {"sandbox": "agency"}}})
    service = SigningService(ring)
    key = ring.signing_key("agency")
    doc = edxml_document()
    doc_bytes = etree.tostring(doc)
    signed = service.sign_xml(doc, "agency", xmldsig.EDXML_SIGNATURE_PARENT).data
    token = jws.sign_detached(doc_bytes, "agency", keyring=ring)
    raw_signature = key.private_key.sign(doc_bytes, padding.PKCS1v15(), hashes.SHA256())
    public_key = key.certificate.public_key()

    results = {
        "raw_rsa2048_sign": rate(lambda: key.private_key.sign(doc_bytes, padding.PKCS1v15(), hashes.SHA256()),
                                 args.seconds),
        "xmldsig_sign": rate(lambda: service.sign_xml(doc, "agency", xmldsig.EDXML_SIGNATURE_PARENT), args.seconds),
        "jws_sign": rate(lambda: jws.sign_detached(doc_bytes, "agency", keyring=ring), args.seconds),
        "raw_rsa2048_verify": rate(lambda: public_key.verify(raw_signature, doc_bytes, padding.PKCS1v15(),  # type: ignore[union-attr]
                                                             hashes.SHA256()), args.seconds),
        "xmldsig_verify": rate(lambda: xmldsig.verify(signed, "agency", xmldsig.EDXML_SIGNATURE, keyring=ring),
                               args.seconds),
        "jws_verify": rate(lambda: jws.verify_detached(token, doc_bytes, "agency", keyring=ring), args.seconds),
    }
    raw_sign, raw_verify = results["raw_rsa2048_sign"]["ms_each"], results["raw_rsa2048_verify"]["ms_each"]
    print(json.dumps({
        "document_bytes": len(doc_bytes), "signed_bytes": len(signed), "key": "RSA-2048 (sandbox agency)",
        "python": platform.python_version(), "machine": platform.machine(), "results": results,
        "ratio_to_raw": {
            "xmldsig_sign": round(results["xmldsig_sign"]["ms_each"] / raw_sign, 2),
            "jws_sign": round(results["jws_sign"]["ms_each"] / raw_sign, 2),
            "xmldsig_verify": round(results["xmldsig_verify"]["ms_each"] / raw_verify, 2),
            "jws_verify": round(results["jws_verify"]["ms_each"] / raw_verify, 2)},
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
