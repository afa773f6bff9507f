"""Field formats of the canonical messages, checked by JSON Schema's ``format`` keyword.

Every identifier here comes from partners.md (section "Identifiers"); each check says which line it
enforces. ``FORMAT_CHECKER`` is handed to every validator the catalogue builds (hub/schemas.py), so a
``"format": "dossier-code"`` in a schema is an assertion, not an annotation.

Rules for every check:
- ASCII digits only (``[0-9]``, never ``\\d``, which also matches Arabic-Indic and other digits) and
  ``fullmatch`` (``$`` alone lets a trailing newline through, and ids end up in headers and logs).
- A check gets a ``str`` or says nothing: non-strings pass, because the ``type`` keyword reports them
  (the convention of jsonschema's own checkers; otherwise one mistake would be reported twice).
- No check echoes its input anywhere: messages are built from ``FORMAT_DESCRIPTIONS`` only.
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from datetime import date, datetime
from urllib.parse import urlsplit

from jsonschema import FormatChecker

# --- agency ids, dossier codes, procedure codes ------------------------------------------------
#: First letter of the level-1 group of an agency id (QĐ 20/2020/QĐ-TTg). partners.md: H = province,
#: G = ministry. K is added because public one-stop code addresses provincial People's Council offices
#: as 000.00.00.Knn (e.g. K41, Nghệ An); rejecting them would block documents sent to those offices.
AGENCY_LEVEL1_LETTERS: frozenset[str] = frozenset("GHK")

_AGENCY_RE = re.compile(r"[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.([A-Z])([0-9]{2})")
_DOSSIER_RE = re.compile(r"(.{13})-([0-9]{2})([0-9]{2})([0-9]{2})-[0-9]{4}")
_PROCEDURE_RE = re.compile(r"[0-9]\.[0-9]{6}(?:\.000\.00\.00\.H(?!00)[0-9]{2})?")


def is_agency_id(value: str) -> bool:
    """Agency id ``DDD.CC.BB.Xnn`` (partners.md, Identifiers: QĐ 20/2020), e.g. ``000.00.14.H20``.

    X is one of ``AGENCY_LEVEL1_LETTERS``; nn is 01..99 (no level-1 unit is numbered 00).
    """
    m = _AGENCY_RE.fullmatch(value)
    return bool(m) and m.group(1) in AGENCY_LEVEL1_LETTERS and m.group(2) != "00"


def is_dossier_code(value: str) -> bool:
    """Dossier code ``<agency id>-<YYMMDD>-<NNNN>`` (partners.md, Identifiers), e.g. ``000.00.14.H20-200703-0002``.

    The date must exist (``-230230-`` is refused): the code is built from the receiving date, so an
    impossible one means the sender's generator is broken, and DVCQG would refuse the dossier anyway.
    """
    m = _DOSSIER_RE.fullmatch(value)
    if not m or not is_agency_id(m.group(1)):
        return False
    return _real_date(2000 + int(m.group(2)), int(m.group(3)), int(m.group(4)))


def agency_of(subject: str | None) -> str | None:
    """The agency id leading a dossier code (``000.00.14.H20`` of ``000.00.14.H20-200703-0002``), None for any
    other subject: what the dashboard's search by agency filters on (``messages.agency_id``)."""
    return subject[:13] if subject and is_dossier_code(subject) else None


def is_procedure_code(value: str) -> bool:
    """Procedure code ``d.dddddd`` (partners.md, Identifiers: mã TTHC), e.g. ``1.000894``, or a local
    public-service code with ``.000.00.00.Hnn`` appended, e.g. ``1.001612.000.00.00.H48``."""
    return _PROCEDURE_RE.fullmatch(value) is not None


# --- people -----------------------------------------------------------------------------------
#: Province-of-birth-registration codes of the 12-digit personal id (partners.md, Identifiers;
#: Thông tư 07/2016/TT-BCA): the 63 provinces as they were when the codes were issued. The 2025
#: merger left 34 provinces, but ids already issued keep these codes, so all 63 stay valid.
PROVINCE_CODES: dict[str, str] = {
    "001": "Hà Nội", "002": "Hà Giang", "004": "Cao Bằng", "006": "Bắc Kạn", "008": "Tuyên Quang",
    "010": "Lào Cai", "011": "Điện Biên", "012": "Lai Châu", "014": "Sơn La", "015": "Yên Bái",
    "017": "Hòa Bình", "019": "Thái Nguyên", "020": "Lạng Sơn", "022": "Quảng Ninh", "024": "Bắc Giang",
    "025": "Phú Thọ", "026": "Vĩnh Phúc", "027": "Bắc Ninh", "030": "Hải Dương", "031": "Hải Phòng",
    "033": "Hưng Yên", "034": "Thái Bình", "035": "Hà Nam", "036": "Nam Định", "037": "Ninh Bình",
    "038": "Thanh Hóa", "040": "Nghệ An", "042": "Hà Tĩnh", "044": "Quảng Bình", "045": "Quảng Trị",
    "046": "Thừa Thiên Huế", "048": "Đà Nẵng", "049": "Quảng Nam", "051": "Quảng Ngãi", "052": "Bình Định",
    "054": "Phú Yên", "056": "Khánh Hòa", "058": "Ninh Thuận", "060": "Bình Thuận", "062": "Kon Tum",
    "064": "Gia Lai", "066": "Đắk Lắk", "067": "Đắk Nông", "068": "Lâm Đồng", "070": "Bình Phước",
    "072": "Tây Ninh", "074": "Bình Dương", "075": "Đồng Nai", "077": "Bà Rịa - Vũng Tàu",
    "079": "TP Hồ Chí Minh", "080": "Long An", "082": "Tiền Giang", "083": "Bến Tre", "084": "Trà Vinh",
    "086": "Vĩnh Long", "087": "Đồng Tháp", "089": "An Giang", "091": "Kiên Giang", "092": "Cần Thơ",
    "093": "Hậu Giang", "094": "Sóc Trăng", "095": "Bạc Liêu", "096": "Cà Mau",
}
#: Century+gender digits partners.md lists: 0/1 = 1900s, 2/3 = 2000s, 4/5 = 2100s; even = male.
#: (The circular also defines 6-9 for 2200-2399; nobody born then exists, so they are refused.)
_CENTURY_DIGITS = "012345"
_PERSONAL_ID_RE = re.compile(r"([0-9]{3})([0-9])([0-9]{2})[0-9]{6}")
_CMND_RE = re.compile(r"[0-9]{9}")


def is_personal_id(value: str) -> bool:
    """12-digit personal id (partners.md, Identifiers: số định danh cá nhân): province of birth
    registration (``PROVINCE_CODES``) + century/gender digit 0-5 + 2-digit birth year + 6 digits."""
    m = _PERSONAL_ID_RE.fullmatch(value)
    return bool(m) and m.group(1) in PROVINCE_CODES and m.group(2) in _CENTURY_DIGITS


def is_cmnd(value: str) -> bool:
    """Old identity card number, CMND: 9 digits (partners.md, Identifiers)."""
    return _CMND_RE.fullmatch(value) is not None


def is_citizen_id(value: str) -> bool:
    """A citizen's id as the portal and the resident database take it: personal id or old CMND."""
    return is_personal_id(value) or is_cmnd(value)


def gender_of(personal_id: str) -> str:
    """``"male"`` or ``"female"`` from the century/gender digit (partners.md: even = male)."""
    if not is_personal_id(personal_id):
        raise ValueError("not a valid 12-digit personal id")
    return "male" if int(personal_id[3]) % 2 == 0 else "female"


def personal_id_consistent_with_birth(personal_id: str, birth: date | str) -> bool:
    """True when the id's century/gender digit and 2-digit year match the birth date (partners.md:
    digit 4 = century, digits 5-6 = year). A mismatch is almost always a typo in one of the two."""
    if not is_personal_id(personal_id):
        return False
    if isinstance(birth, str):
        if not is_date(birth):
            return False
        birth = date.fromisoformat(birth)
    century = 1900 + 100 * (int(personal_id[3]) // 2)
    return birth.year // 100 * 100 == century and birth.year % 100 == int(personal_id[4:6])


# --- phone numbers ------------------------------------------------------------------------------
#: Mobile prefixes after the 2018 renumbering (0 + two digits): Viettel 032-039, 086, 096-098;
#: Vinaphone 081-085, 088, 091, 094; MobiFone 070, 076-079, 089, 090, 093; Vietnamobile 052, 056,
#: 058, 092; Gmobile 059, 099; Reddi 055; Itel 087.
MOBILE_PREFIXES: frozenset[str] = frozenset(
    "032 033 034 035 036 037 038 039 052 055 056 058 059 070 076 077 078 079 081 082 083 084 085 086 087 088"
    " 089 090 091 092 093 094 096 097 098 099".split())
#: Landline area codes after the 2017 change: 024 Hà Nội and 028 HCM take 8 more digits, the other
#: 02xx codes 7, so every landline is 11 digits nationally, one more than a mobile.
_LANDLINE_BIG = frozenset({"024", "028"})
LANDLINE_AREA_CODES: frozenset[str] = _LANDLINE_BIG | frozenset(
    "0203 0204 0205 0206 0207 0208 0209 0210 0211 0212 0213 0214 0215 0216 0218 0219 0220 0221 0222 0225"
    " 0226 0227 0228 0229 0232 0233 0234 0235 0236 0237 0238 0239 0251 0252 0254 0255 0256 0257 0258 0259"
    " 0260 0261 0262 0263 0269 0270 0271 0272 0273 0274 0275 0276 0277 0290 0291 0292 0293 0294 0296 0297"
    " 0299".split())
_DIGITS_RE = re.compile(r"[0-9]+")
_PHONE_NOISE_RE = re.compile(r"[ .()\-]")


def _national(value: str) -> str | None:
    """``0...`` form of a strict national (``0...``) or gateway (``84...``) number, else None."""
    if not _DIGITS_RE.fullmatch(value):
        return None
    if value.startswith("84"):
        return "0" + value[2:]
    return value if value.startswith("0") else None


def is_mobile_vn(value: str) -> bool:
    """Vietnamese mobile number, national ``0xxxxxxxxx`` (10 digits) or gateway ``84xxxxxxxxx``
    (partners.md, Identifiers and section 6: SMS gateways want ``84...``)."""
    n = _national(value)
    return n is not None and len(n) == 10 and n[:3] in MOBILE_PREFIXES


def is_landline_vn(value: str) -> bool:
    """Vietnamese landline, ``02x`` area code, 11 digits nationally (or ``842...``)."""
    n = _national(value)
    if n is None or len(n) != 11:
        return False
    return n[:3] in _LANDLINE_BIG or (n[:4] in LANDLINE_AREA_CODES and n[:3] not in _LANDLINE_BIG)


def is_phone_vn(value: str) -> bool:
    """A contact phone: mobile or landline, national or ``84`` form, digits only (partners.md, Identifiers)."""
    return is_mobile_vn(value) or is_landline_vn(value)


def normalise_phone(value: str) -> str:
    """The ``84...`` form gateways want (partners.md, section 6), from what people type:
    ``0912 345 678``, ``+84 912.345.678``, ``(024) 3825 3536``. Raises ValueError otherwise."""
    compact = _PHONE_NOISE_RE.sub("", value.strip())
    if compact.startswith("+"):
        compact = compact[1:]
    if not is_phone_vn(compact):
        raise ValueError("not a Vietnamese mobile or landline number")
    return "84" + compact[1:] if compact.startswith("0") else compact


# --- dates (RFC 3339) ------------------------------------------------------------------------------
_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DATE_TIME_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]{1,9})?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))")


def _real_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def is_date(value: str) -> bool:
    """RFC 3339 full-date ``YYYY-MM-DD`` that exists. Partners' own spellings (DVCQG ``yyyyMMddHHmmss``,
    CSDL dân cư ``yyyyMMdd``, edXML ``yyyy/MM/dd``; partners.md) are converted in transforms, never here."""
    m = _DATE_RE.fullmatch(value)
    return bool(m) and _real_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))


def is_date_time(value: str) -> bool:
    """RFC 3339 date-time with an explicit offset (``Z`` or ``±hh:mm``), e.g. ``2023-11-20T08:30:00+07:00``.

    The offset is required because partners differ (DVCQG and VNPay speak Asia/Ho_Chi_Minh local time,
    partners.md) and a bare local time is ambiguous once it crosses a transform. Leap seconds (``:60``)
    are refused: Python's datetime cannot hold them and no partner sends them.
    """
    m = _DATE_TIME_RE.fullmatch(value)
    if not m:
        return False
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    try:
        datetime(y, mo, d, h, mi, s)
    except ValueError:
        return False
    return not m.group(7) or (int(m.group(8)) <= 23 and int(m.group(9)) <= 59)


def parse_date_time(value: str) -> datetime:
    """The aware datetime of a value ``is_date_time`` accepts (``t``/``z`` in lower case included,
    which RFC 3339 allows and ``datetime.fromisoformat`` refuses). Raises ValueError otherwise."""
    if not is_date_time(value):
        raise ValueError("not an RFC 3339 date-time with an offset")
    return datetime.fromisoformat(value.upper())


# --- the rest ------------------------------------------------------------------------------------
_URI_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_URI_FORBIDDEN_RE = re.compile(r"[\x00-\x20\x7f<>\"{}|\\^`]")


def is_uri(value: str) -> bool:
    """Absolute URI (RFC 3986 shape: scheme, no spaces or control characters), for attachment links
    (DVCQG ``DuongDanTaiTepTin``, partners.md section 1). Ours because jsonschema's needs rfc3987."""
    if _URI_FORBIDDEN_RE.search(value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return False
    return bool(_URI_SCHEME_RE.fullmatch(parts.scheme)) and bool(parts.netloc or parts.path)


def is_ip_address(value: str) -> bool:
    """IPv4 or IPv6 address: the payer's address PayGov (``Ip``) and VNPay (``vnp_IpAddr``) want."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


# --- the checker ----------------------------------------------------------------------------------
#: Standard formats jsonschema checks with the standard library alone (no optional package): same
#: behaviour on every machine whatever happens to be installed.
_STANDARD_FORMATS = ("email", "idn-email", "ipv4", "ipv6", "regex", "uuid")

FORMAT_CHECKER = FormatChecker(formats=_STANDARD_FORMATS)


def _register(name: str, check: Callable[[str], bool]) -> None:
    def checker(instance: object) -> bool:
        return not isinstance(instance, str) or check(instance)
    checker.__doc__ = check.__doc__
    FORMAT_CHECKER.checks(name)(checker)


_OURS: dict[str, Callable[[str], bool]] = {
    "dossier-code": is_dossier_code, "agency-id": is_agency_id, "procedure-code": is_procedure_code,
    "personal-id": is_personal_id, "cmnd": is_cmnd, "citizen-id": is_citizen_id,
    "phone-vn": is_phone_vn, "mobile-vn": is_mobile_vn, "date": is_date, "date-time": is_date_time,
    "uri": is_uri, "ip-address": is_ip_address,
}
for _name, _check in _OURS.items():
    _register(_name, _check)

#: How each format is described to a client in an error message ("Must be <description>.").
#: Examples are fixed texts, never the value that failed: that value may be a citizen's id number.
FORMAT_DESCRIPTIONS: dict[str, str] = {
    "dossier-code": "a dossier code '<agency id>-<YYMMDD>-<NNNN>' with a real date, e.g. 000.00.14.H20-231120-0001",
    "agency-id": "an agency id 'DDD.CC.BB.Xnn' (X one of " + ", ".join(sorted(AGENCY_LEVEL1_LETTERS))
                 + "), e.g. 000.00.14.H20",
    "procedure-code": "a procedure code 'd.dddddd', optionally followed by '.000.00.00.Hnn', e.g. 1.000894",
    "personal-id": "a 12-digit personal id: a province code, a century/gender digit 0-5, "
                   "the 2-digit birth year, then 6 digits",
    "cmnd": "a 9-digit identity card (CMND) number",
    "citizen-id": "a 12-digit personal id or a 9-digit identity card (CMND) number",
    "phone-vn": "a Vietnamese phone number, digits only: 0 + 9 digits for a mobile, 02x + 8 digits for "
                "a landline, or the same with 84 instead of the leading 0",
    "mobile-vn": "a Vietnamese mobile number, digits only: 0xxxxxxxxx or 84xxxxxxxxx with a mobile prefix",
    "date": "a date 'YYYY-MM-DD' that exists",
    "date-time": "an RFC 3339 date-time with an offset, e.g. 2023-11-20T08:30:00+07:00",
    "uri": "an absolute URI without spaces, e.g. https://example.gov.vn/files/1",
    "ip-address": "an IPv4 or IPv6 address",
    "email": "an email address",
    "idn-email": "an email address",
    "ipv4": "an IPv4 address",
    "ipv6": "an IPv6 address",
    "regex": "a regular expression",
    "uuid": "a UUID",
}
