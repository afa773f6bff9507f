"""Identifiers that end up in HTTP headers, bus properties, queue names and log lines (reliability.md family 6).

One strict pattern per kind, checked where the value enters the hub: a CR/LF or control character in an id
could forge a header or a log line, an oversized one could fill them. The envelope schema
(schemas/envelope.json) applies the same ``SAFE_ID`` to a client's id, subject and correlation id; this module
covers what does not pass through that schema: path segments, partners' ids, bus reply queues.
"""
from __future__ import annotations

import hashlib
import re

from hub import errors
from hub.errors import RequestError

SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")        # message ids, subjects, correlation ids
CONNECTOR_NAME = re.compile(r"[a-z][a-z0-9_-]{0,63}")              # /v1/inbound/<connector>, queue suffixes
PROCEDURE_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")    # /v1/procedures/<code>
# Bus reply queues: a client's own (amq.gen-... or its name); never one of the hub's queues (hub.*).
REPLY_QUEUE = re.compile(r"(?!hub\.)[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def describe(value: object) -> str:
    """A refused value as it may appear in an error text: control characters escaped, at most 40 characters."""
    text = str(value)
    return repr(_CONTROL.sub("?", text[:40]) + ("..." if len(text) > 40 else ""))


def check(value: object, pattern: re.Pattern[str] = SAFE_ID, what: str = "id") -> str:
    """``value`` when it matches ``pattern`` in full, else ``request.bad_identifier`` (400)."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        kind = "control characters" if isinstance(value, str) and _CONTROL.search(value) else "characters or length"
        raise RequestError(errors.REQ_BAD_IDENTIFIER, f"The {what} {describe(value)} has {kind} not allowed.")
    return value


def check_optional(value: object, pattern: re.Pattern[str] = SAFE_ID, what: str = "id") -> str | None:
    return None if value is None else check(value, pattern, what)


def partner_id(value: str | None, what: str = "id") -> str | None:
    """A partner's own id made safe for headers and logs. Control characters are refused (code); other characters
    a partner legitimately uses (``+`` in a timestamp, ``/`` in a document number) are replaced, with a digest of
    the original appended so two ids never become one: the mapping is stable, so a replayed callback is still
    the same message."""
    if value is None:
        return None
    if not isinstance(value, str) or _CONTROL.search(value) or len(value) > 1024:
        raise RequestError(errors.REQ_BAD_IDENTIFIER, f"The partner's {what} {describe(value)} has control "
                                                      f"characters or is longer than 1024 characters.")
    if SAFE_ID.fullmatch(value):
        return value
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]
    stem = re.sub(r"[^A-Za-z0-9._:-]", "_", value)[:100].lstrip("._:-") or "x"
    return f"{stem}-{digest}"
