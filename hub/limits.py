"""Limits at the edge: what the hub refuses before any of its logic sees a request (reliability.md families 1-2).

Every number comes from ``hub.limits`` in hub.yaml (defaults below). Decisions, also in the README ("Security"):

* Bodies are refused **before they are read** when Content-Length says too much, and reading stops one byte past
  the limit whatever Content-Length claimed (a lying header, a chunked body).
* ``Content-Encoding: gzip`` / ``deflate`` are accepted and decompressed in bounded steps: more than
  ``decompressed_bytes`` of output refuses the request, so a compression bomb costs at most that much memory.
  Any other encoding is refused with a code.
* JSON is strict (hub.gateway.parse_json_body): UTF-8 only, no duplicate keys, no NaN/Infinity, integers and
  decimals of at most ``number_digits`` digits, at most ``json_depth`` levels, strings and arrays capped here
  (the schemas set the real, per-field lengths), no NUL or other control characters but tab/CR/LF, no lone
  surrogates, and every string **normalised to NFC** at the gateway: Vietnamese typed on some keyboards arrives
  decomposed (``a`` + U+0301), and two spellings of one name must be one name for the schemas, the routes, the
  partners and the search index.
"""
from __future__ import annotations

import unicodedata
import zlib
from dataclasses import dataclass
from typing import Any

from hub import errors
from hub.errors import RequestError


@dataclass(frozen=True)
class Limits:
    body_bytes: int = 1_048_576          # what arrives on the wire
    decompressed_bytes: int = 4_194_304  # what a compressed body may expand to
    json_depth: int = 32                 # nesting levels of objects and arrays
    number_digits: int = 30              # digits in one JSON number (amounts are at most 15)
    string_chars: int = 65_536           # any one string (schemas set tighter per-field maxLength)
    array_items: int = 10_000            # any one array (schemas set tighter maxItems)
    xml_bytes: int = 4_194_304           # any XML document the hub parses
    xml_depth: int = 64                  # element nesting in any XML document


DEFAULT = Limits()


def from_config(section: dict[str, Any] | None, body_bytes: int | None = None) -> Limits:
    """``hub.limits`` of hub.yaml; ``hub.http.max_body_bytes`` (the older key) still sets the body limit."""
    values = dict(section or {})
    if body_bytes is not None and "body_bytes" not in values:
        values["body_bytes"] = body_bytes
    return Limits(**{k: int(v) for k, v in values.items()})


# --- compressed bodies ------------------------------------------------------------------------------
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def decode_content(data: bytes, encoding: str | None, limits: Limits) -> bytes:
    """The body as sent before compression; never more than ``limits.decompressed_bytes``."""
    name = (encoding or "identity").strip().lower()
    if name in ("", "identity"):
        return data
    if name not in _WBITS:
        raise RequestError(errors.REQ_BAD_ENCODING, f"Content-Encoding {name[:32]!r} is not accepted.")
    inflater = zlib.decompressobj(_WBITS[name])
    try:
        out = inflater.decompress(data, limits.decompressed_bytes + 1)
        if len(out) > limits.decompressed_bytes or inflater.unconsumed_tail:
            raise RequestError(errors.REQ_TOO_LARGE,
                               f"The body decompresses to more than {limits.decompressed_bytes} bytes.")
        out += inflater.flush()
    except zlib.error:
        raise RequestError(errors.REQ_BAD_ENCODING, f"The body is not valid {name} data.") from None
    if len(out) > limits.decompressed_bytes:
        raise RequestError(errors.REQ_TOO_LARGE, f"The body decompresses to more than {limits.decompressed_bytes} bytes.")
    return out


# --- JSON values --------------------------------------------------------------------------------------
def _bad_char(text: str) -> str | None:
    for ch in text:
        code = ord(ch)
        if (code < 0x20 and ch not in "\t\r\n") or code == 0x7F:
            return "NUL" if code == 0 else f"control character U+{code:04X}"
        if 0xD800 <= code <= 0xDFFF:
            return "a lone surrogate (not Unicode text)"
    return None


def check_string(text: str, limits: Limits, where: str) -> str:
    if len(text) > limits.string_chars:
        raise RequestError(errors.REQ_TOO_LARGE, f"{where} is longer than {limits.string_chars} characters.")
    problem = _bad_char(text)
    if problem:
        raise RequestError(errors.REQ_CONTROL_CHAR, f"{where} contains {problem}.")
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def clean(value: Any, limits: Limits, where: str = "body", depth: int = 1) -> Any:
    """Check every string, array and nesting level; return the value with every string in NFC."""
    if depth > limits.json_depth:
        raise RequestError(errors.REQ_TOO_DEEP, f"The body is nested deeper than {limits.json_depth} levels.")
    if isinstance(value, str):
        return check_string(value, limits, where)
    if isinstance(value, dict):
        return {check_string(k, limits, f"a key in {where}"): clean(v, limits, f"{where}.{k}"[:200], depth + 1)
                for k, v in value.items()}
    if isinstance(value, list):
        if len(value) > limits.array_items:
            raise RequestError(errors.REQ_TOO_LARGE, f"{where} has more than {limits.array_items} items.")
        return [clean(v, limits, f"{where}[{i}]"[:200], depth + 1) for i, v in enumerate(value)]
    return value


def number_parsers(limits: Limits) -> tuple[Any, Any]:
    """parse_int / parse_float for json.loads: too many digits, or a float that overflows, is refused."""
    def digits(text: str) -> int:
        return sum(ch.isdigit() for ch in text)

    def parse_int(text: str) -> int:
        if digits(text) > limits.number_digits:
            raise RequestError(errors.REQ_NUMBER_TOO_LARGE, f"A number has more than {limits.number_digits} digits.")
        return int(text)

    def parse_float(text: str) -> float:
        if len(text) > limits.number_digits + 8 or digits(text.lower().split("e")[0]) > limits.number_digits:
            raise RequestError(errors.REQ_NUMBER_TOO_LARGE, f"A number has more than {limits.number_digits} digits.")
        value = float(text)
        if value in (float("inf"), float("-inf")):
            raise RequestError(errors.REQ_NUMBER_TOO_LARGE, "A number is too large to represent.")
        return value

    return parse_int, parse_float
