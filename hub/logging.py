"""Structured logs: one JSON object per line, with the message id and correlation id of the work in progress,
personal data masked.

``run.py serve`` calls :func:`configure`. Code that works on one message wraps it in :func:`message_context`;
every log line written inside carries ``message_id`` and ``correlation_id`` (contextvars: each green thread has
its own context, so concurrent workers never mix them up).

Masking is the last line of defence, not the first: the hub never logs payloads on purpose, but an exception
text from a library may quote one. 12-digit personal ids (CCCD), 9-digit old ids (CMND) and Vietnamese phone
numbers are masked in every message, exception text and extra field.
"""
from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
import traceback
from datetime import datetime, timezone
from typing import Any, Iterator, TextIO

_MESSAGE_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("hub_message_id", default=None)
_CORRELATION_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("hub_correlation_id", default=None)

# Digits not touching other digits, so an order number or a timestamp is not half-masked.
# boundaries exclude letters too: a digit run inside a hex serial or digest is not a personal id
_PERSONAL_ID = re.compile(r"(?<![0-9A-Za-z])([0-9]{3})[0-9]{6}([0-9]{3})(?![0-9A-Za-z])")
# mobiles are 0 + 9 digits, landlines 0 + area code + number = 0 + 10 digits (a citizen's home phone is personal too)
_PHONE = re.compile(r"(?<![0-9A-Za-z])(?:\+84|84|0)(?:[ .\-]?[0-9]){8,10}(?![0-9A-Za-z])")
_CMND = re.compile(r"(?<![0-9A-Za-z])[0-9]{9}(?![0-9A-Za-z])")
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()) | {"message", "asctime"}


def mask(text: str) -> str:
    """Personal ids become 001******789; phone numbers keep only their last 3 digits."""
    text = _PERSONAL_ID.sub(lambda m: f"{m.group(1)}******{m.group(2)}", text)
    text = _PHONE.sub(lambda m: "*" * (len(m.group(0)) - 3) + m.group(0)[-3:], text)
    return _CMND.sub(lambda m: "******" + m.group(0)[-3:], text)


def mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, int) and not isinstance(value, bool):
        # a phone number or an old id sent as a JSON number: shown as its masked text
        masked = mask(str(value))
        return value if masked == str(value) else masked
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_value(v) for v in value]
    return value


@contextlib.contextmanager
def message_context(message_id: str | None, correlation_id: str | None = None) -> Iterator[None]:
    tokens = (_MESSAGE_ID.set(message_id), _CORRELATION_ID.set(correlation_id))
    try:
        yield
    finally:
        _CORRELATION_ID.reset(tokens[1])
        _MESSAGE_ID.reset(tokens[0])


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": mask(record.getMessage()),
        }
        message_id, correlation_id = _MESSAGE_ID.get(), _CORRELATION_ID.get()
        if message_id:
            entry["message_id"] = message_id
        if correlation_id:
            entry["correlation_id"] = correlation_id
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = mask_value(value)
        if record.exc_info:
            entry["error"] = mask("".join(traceback.format_exception(*record.exc_info)).rstrip())
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: str = "INFO", stream: TextIO | None = None) -> logging.Handler:
    """JSON lines on stderr for the whole process (nameko's and kombu's loggers included)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
