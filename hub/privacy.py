"""Personal data kept out of traces, logs and the dashboard (Decree 13/2023/NĐ-CP on personal data).

Only the reply to the caller holds a citizen's full record; everything the hub writes about a lookup uses
these masks, which keep enough to tell two people apart in a trace (``0012******45``) and no more.
"""
from __future__ import annotations

import unicodedata

from hub.text import strip_diacritics  # one implementation (hub/text.py); re-exported for existing callers

__all__ = ["mask_id", "mask_name", "normalise_name", "strip_diacritics"]


def mask_id(value: str | None) -> str:
    """A personal id or CMND with all but the first 4 and last 2 characters hidden: ``0012******45``."""
    if not value:
        return ""
    text = str(value)
    if len(text) <= 6:
        return "*" * len(text)
    return text[:4] + "*" * (len(text) - 6) + text[-2:]


def mask_name(value: str | None) -> str:
    """Initials only: ``Nguyễn Thị Hồng Nhung`` -> ``N. T. H. N.``."""
    if not value:
        return ""
    return " ".join(part[0] + "." for part in value.split())


def normalise_name(name: str, diacritics: str = "keep") -> str:
    """The name as the resident database matches it: NFC, single spaces, upper case; marks kept or stripped."""
    text = " ".join(unicodedata.normalize("NFC", name).split())
    if diacritics == "strip":
        text = strip_diacritics(text)
    return text.upper()
