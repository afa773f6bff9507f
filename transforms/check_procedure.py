"""Route step ``check_procedure``: the fixed fields of a dossier must match the published procedure.

Bà Rịa–Vũng Tàu QĐ 1948 art. 8.4a. Placed before the transform on dossier.sync routes; takes the canonical payload
and returns it unchanged, or refuses it (permanent: resending the same dossier cannot succeed) with a code and a
sentence naming the field. The catalogue is the hub's copy of CSDL TTHC (hub/store/procedures.py), cached in
memory; an empty copy means "not synced yet" and is transient, so dossiers wait rather than being refused.

Rules: the code must be known and active; every fee with a code must be published for the dossier's channel
with the same amount; every published component (GIAYTO) whose name does not say "nếu có" (if any) must be
among the non-deleted attachments' component codes (equal, or ending in "-<code>" for agency-prefixed codes).
"""
from __future__ import annotations

from typing import Any

from hub import errors, registry
from hub.contracts import TransformContext
from hub.errors import PermanentError, TransientError
from hub.store import procedures


def published_fees(record: dict[str, Any], channel: int | None) -> dict[str, int]:
    fees: dict[str, int] = {}
    for method in record.get("methods", []):
        if channel is not None and method.get("channel") != channel:
            continue
        for duration in method.get("durations", []):
            for fee in duration.get("fees", []):
                if fee.get("code"):
                    fees[fee["code"]] = int(fee.get("amount", 0))
    return fees


def required_components(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [doc for comp in record.get("components", []) for doc in comp.get("documents", [])
            if doc.get("code") and "nếu có" not in doc.get("name", "").lower()]


def _has_component(codes: set[str], wanted: str) -> bool:
    return wanted in codes or any(c.endswith("-" + wanted) for c in codes)


def check(payload: dict[str, Any], record: dict[str, Any] | None) -> None:
    code = payload.get("procedure_code", "")
    if record is None:
        raise PermanentError(errors.PROC_UNKNOWN, f"procedure_code {code} is not in the national procedure catalogue.")
    if not record.get("active"):
        raise PermanentError(errors.PROC_INACTIVE, f"procedure_code {code} is no longer in force.")
    fees = published_fees(record, payload.get("channel")) or published_fees(record, None)
    for i, fee in enumerate(payload.get("fees", [])):
        if not fee.get("code"):
            continue
        if fee["code"] not in fees:
            raise PermanentError(errors.PROC_FEE_MISMATCH,
                                 f"fees[{i}].code {fee['code']} is not a published fee of procedure {code}.")
        if int(fee["amount"]) != fees[fee["code"]]:
            raise PermanentError(errors.PROC_FEE_MISMATCH, f"fees[{i}].amount {fee['amount']} differs from the "
                                 f"published fee {fees[fee['code']]} for {fee['code']} of procedure {code}.")
    present = {a["component_code"] for a in payload.get("attachments", [])
               if a.get("component_code") and not a.get("deleted")}
    for doc in required_components(record):
        if not _has_component(present, doc["code"]):
            raise PermanentError(errors.PROC_COMPONENT_MISSING, f"attachments lack the required component "
                                 f"{doc['code']} ({doc['name']}) of procedure {code}.")


@registry.transforms.register("check_procedure")
def check_procedure(payload: dict[str, Any], ctx: TransformContext | None = None) -> dict[str, Any]:
    catalogue = procedures.installed()
    if catalogue is None:  # tools without a hub runtime (route test files, `run.py routes`): nothing to check against
        return payload
    record = catalogue.get(payload.get("procedure_code", ""))
    if record is None and catalogue.empty():
        raise TransientError(errors.PROC_CATALOGUE_EMPTY, "the procedure catalogue is empty; sync it first.",
                             retry_after=5)
    check(payload, record)
    return payload
