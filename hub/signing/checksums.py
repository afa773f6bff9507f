"""Payment partners' checksum schemes, exactly as ../shared/partners.md section 4 describes them.

* VNPay 2.1.0: HMAC-SHA512 over ``k=v&k=v`` of the ``vnp_*`` parameters sorted by name, empty values and
  ``vnp_SecureHash*`` dropped, names and values ``quote_plus``-encoded (space -> ``+``), as VNPay's own
  reference code does (it also keeps only ``vnp_`` names, so a parameter someone appends is not "signed").
* MoMo v2: HMAC-SHA256 over ``accessKey=..&amount=..&...`` in a fixed field order, one for create and one
  for the IPN (``accessKey`` comes from our config, not from the IPN body). Values are not URL-encoded.
* PayGov: SHA-256 (a plain hash, the secret is simply the last field) over ``|``-joined fields, one order
  for the payment request and one for the result callback (``MaDoiTac`` from our config).

All digests are lower-case hex. Verification works on what the partner actually sent: the raw query string
or the raw body, with JSON numbers kept as the literal text that was hashed (``10000`` and ``1e4`` differ),
compared with :func:`hmac.compare_digest`; a checksum of the wrong length or with non-hex characters is
``checksum.malformed``, a wrong one ``checksum.mismatch``. Upper-case hex is accepted on input (same value).
"""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, quote_plus

from hub.signing.errors import CHECKSUM_MALFORMED, CHECKSUM_MISMATCH, CHECKSUM_MISSING, MALFORMED, SignatureError

MOMO_CREATE_FIELDS = ("accessKey", "amount", "extraData", "ipnUrl", "orderId", "orderInfo", "partnerCode",
                      "redirectUrl", "requestId", "requestType")
MOMO_IPN_FIELDS = ("accessKey", "amount", "extraData", "message", "orderId", "orderInfo", "orderType", "partnerCode",
                   "payType", "requestId", "responseTime", "resultCode", "transId")
PAYGOV_REQUEST_FIELDS = ("LoaiBanTin", "PhienBan", "MaDoiTac", "MaThamChieu", "SoTien", "LoaiHinhThanhToan",
                         "MaKenhThanhToan", "MaThietBi", "NgonNgu", "MaTienTe", "MaNganHang", "ThongTinGiaoDich",
                         "ThoiGianGD", "Ip")
PAYGOV_CALLBACK_FIELDS = ("LoaiBanTin", "MaLoi", "MaDoiTac", "MaThamChieu", "SoTien", "MaTienTe", "MaGiaoDich",
                          "MaNganHang", "ThoiGianGD", "ThongTinGiaoDich")


# --- VNPay -----------------------------------------------------------------------------------------

def vnpay_canonical(params: Mapping[str, Any]) -> str:
    items = sorted((k, str(v)) for k, v in params.items()
                   if k.startswith("vnp_") and not k.startswith("vnp_SecureHash") and v is not None and str(v) != "")
    return "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in items)


def vnpay_sign(params: Mapping[str, Any], secret: str) -> str:
    return _hmac(hashlib.sha512, secret, vnpay_canonical(params))


def vnpay_verify_query(raw_query: str | bytes, secret: str) -> dict[str, str]:
    """The parameters of a VNPay return/IPN query string once its ``vnp_SecureHash`` checks out."""
    try:   # a query string is ASCII on the wire; anything else is refused with a code, never a crash (fuzz)
        text = raw_query.decode("ascii", "strict") if isinstance(raw_query, bytes) else raw_query
        pairs = parse_qsl(text.lstrip("?"), keep_blank_values=True, strict_parsing=bool(text), errors="strict")
    except (ValueError, UnicodeDecodeError) as exc:
        raise SignatureError(MALFORMED, f"query string cannot be parsed: {exc.__class__.__name__}") from None
    params: dict[str, str] = {}
    for k, v in pairs:
        if k in params:   # two values for one name: we would hash one reading and act on another
            raise SignatureError(MALFORMED, f"parameter {k} given twice")
        params[k] = v
    given = params.get("vnp_SecureHash")
    _compare(vnpay_sign(params, secret), given, hashlib.sha512().digest_size)
    return params


# --- MoMo ------------------------------------------------------------------------------------------

def momo_canonical(fields: Sequence[str], values: Mapping[str, Any], access_key: str) -> str:
    out = []
    for name in fields:
        value = access_key if name == "accessKey" else values.get(name)
        if value is None:
            raise SignatureError(MALFORMED, f"MoMo field {name} missing")
        out.append(f"{name}={_literal(value)}")
    return "&".join(out)


def momo_sign_create(request: Mapping[str, Any], access_key: str, secret_key: str) -> str:
    return _hmac(hashlib.sha256, secret_key, momo_canonical(MOMO_CREATE_FIELDS, request, access_key))


def momo_sign_ipn(ipn: Mapping[str, Any], access_key: str, secret_key: str) -> str:
    """What MoMo puts in an IPN's ``signature`` (the simulator uses it)."""
    return _hmac(hashlib.sha256, secret_key, momo_canonical(MOMO_IPN_FIELDS, ipn, access_key))


def momo_verify_ipn(body: bytes, access_key: str, secret_key: str) -> dict[str, Any]:
    """The IPN, parsed, once its ``signature`` checks out over the literal values in ``body``."""
    literal, parsed = _parse_json(body)
    expected = _hmac(hashlib.sha256, secret_key, momo_canonical(MOMO_IPN_FIELDS, literal, access_key))
    _compare(expected, literal.get("signature"), hashlib.sha256().digest_size)
    return parsed


# --- PayGov ----------------------------------------------------------------------------------------

def pipe_sha256(values: Sequence[Any], secret: str) -> str:
    return hashlib.sha256("|".join([*(_literal(v) for v in values), secret]).encode("utf-8")).hexdigest()


def paygov_sign_request(request: Mapping[str, Any], secret: str) -> str:
    """``MaXacThuc`` of a payment request; absent fields count as empty strings [I]."""
    return pipe_sha256([_or_empty(request.get(f)) for f in PAYGOV_REQUEST_FIELDS], secret)


def paygov_sign_callback(callback: Mapping[str, Any], secret: str, partner_code: str) -> str:
    values = [partner_code if f == "MaDoiTac" else _or_empty(callback.get(f)) for f in PAYGOV_CALLBACK_FIELDS]
    return pipe_sha256(values, secret)


def paygov_verify_callback(body: bytes, secret: str, partner_code: str) -> dict[str, Any]:
    """The result callback, parsed, once ``MaXacThuc`` checks out (public one-stop code skips this check)."""
    literal, parsed = _parse_json(body)
    if literal.get("MaDoiTac") not in (None, partner_code):
        raise SignatureError(CHECKSUM_MISMATCH, "callback is for another MaDoiTac")
    _compare(paygov_sign_callback(literal, secret, partner_code), literal.get("MaXacThuc"), hashlib.sha256().digest_size)
    return parsed


# --- shared ----------------------------------------------------------------------------------------

def _hmac(digest: Any, secret: str, message: str) -> str:
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), digest).hexdigest()


def _compare(expected: str, given: Any, digest_size: int) -> None:
    if given is None or given == "":
        raise SignatureError(CHECKSUM_MISSING, "checksum missing")
    if not isinstance(given, str) or len(given) != 2 * digest_size \
            or any(c not in "0123456789abcdefABCDEF" for c in given):
        raise SignatureError(CHECKSUM_MALFORMED, f"checksum must be {2 * digest_size} hex characters")
    if not hmac.compare_digest(expected, given.lower()):
        raise SignatureError(CHECKSUM_MISMATCH, "checksum does not match the fields received")


def _literal(value: Any) -> str:
    if isinstance(value, bool):          # JSON spelling, as the partner's (JavaScript/Java) code prints it
        return "true" if value else "false"
    return str(value)


def _or_empty(value: Any) -> Any:
    return "" if value is None else value


def _parse_json(body: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """(values with numbers as their literal text, values as Python types); duplicate keys refused."""
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in pairs:
            if k in out:
                raise SignatureError(MALFORMED, f"JSON key {k!r} given twice")
            out[k] = v
        return out

    def no_constants(name: str) -> Any:
        raise SignatureError(MALFORMED, f"JSON constant {name} not accepted")
    try:
        text = body.decode("utf-8")
        literal = json.loads(text, object_pairs_hook=no_duplicates, parse_int=str, parse_float=str,
                             parse_constant=no_constants)
        parsed = json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise SignatureError(MALFORMED, "body is not UTF-8 JSON") from None
    if not isinstance(literal, dict):
        raise SignatureError(MALFORMED, "body is not a JSON object")
    return literal, parsed
