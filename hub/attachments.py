"""Attachments carried inline (``content_type`` + ``content_base64``, e.g. document.send): the declared type must
not lie about the bytes (reliability.md family 8, type spoofing).

Two rules, whatever the message type (every object in a payload holding both fields is checked):

- active content is refused under any declared type: Windows/Linux executables, scripts with a ``#!`` line, HTML
  or SVG with script — a receiving agency's staff would open it as "a PDF";
- for the types whose files have a fixed signature (PDF, PNG, JPEG, GIF, TIFF) the bytes must start with it.

Other declared types (office documents, XML, text) are carried as they are: their content is not sniffed.
"""
from __future__ import annotations

import base64
import binascii
from typing import Any, Iterator

HEAD_BYTES = 512        # enough for every signature below and for an HTML/SVG prologue

MAGIC: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
}
EXECUTABLE = (b"MZ", b"\x7fELF", b"#!", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe")
ACTIVE_MARKUP = (b"<script", b"<html", b"<!doctype html", b"<svg", b"<iframe", b"javascript:")


def _inline(value: Any, path: str = "/payload") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(value, dict):
        if isinstance(value.get("content_type"), str) and isinstance(value.get("content_base64"), str):
            yield path, value
        for key, item in value.items():
            yield from _inline(item, f"{path}/{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _inline(item, f"{path}/{i}")


def _head(content_base64: str) -> bytes:
    usable = content_base64[: (HEAD_BYTES // 3) * 4]
    try:
        return base64.b64decode(usable + "=" * (-len(usable) % 4))
    except (binascii.Error, ValueError):
        return b""


def problems(payload: Any) -> list[dict[str, str]]:
    """Each inline attachment whose bytes contradict its declared type, as ``{"path", "message"}``."""
    out = []
    for path, item in _inline(payload):
        declared = item["content_type"].split(";", 1)[0].strip().lower()
        head = _head(item["content_base64"])
        lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        if head.startswith(EXECUTABLE) or any(marker in lowered for marker in ACTIVE_MARKUP):
            out.append({"path": path, "message": f"declared {declared[:60]} but the content is a program or a web "
                                                 "page with script; send the document itself"})
        elif declared in MAGIC and head and not head.startswith(MAGIC[declared]):
            out.append({"path": path, "message": f"declared {declared} but the content is not a {declared} file"})
    return out
