"""Text helpers for partners that want plain ASCII (VNPay order info, SMS status replies) and SMS sizing."""
from __future__ import annotations

import unicodedata

# GSM 03.38 default alphabet (basic set) and its extension table (each extension char costs two septets)
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")


def strip_diacritics(text: str) -> str:
    """'Nguyễn Đức' -> 'Nguyen Duc': đ/Đ are letters of their own in Unicode, not d plus a mark."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text)


def sms_segments(text: str) -> tuple[str, int]:
    """(encoding, number of SMS parts): GSM-7 160 alone / 153 per part when concatenated; UCS-2 70 / 67."""
    if is_gsm7(text):
        units = sum(2 if c in GSM7_EXTENDED else 1 for c in text)
        return "gsm7", (1 if units <= 160 else -(-units // 153))
    units = sum(2 if ord(c) > 0xFFFF else 1 for c in text)      # UTF-16 code units
    return "ucs2", (1 if units <= 70 else -(-units // 67))
