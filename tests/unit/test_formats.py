"""Field formats (hub/formats.py): each identifier of partners.md, valid and invalid spellings."""
from __future__ import annotations

from datetime import date

import pytest

from hub import formats
from hub.formats import FORMAT_CHECKER, FORMAT_DESCRIPTIONS

VALID: dict[str, list[str]] = {
    "dossier-code": ["000.00.14.H20-231120-0001", "000.00.14.H20-200703-0002", "000.00.00.G22-240229-9999",
                     "123.45.67.K41-991231-0000", "000.00.00.H63-000101-0001"],
    "agency-id": ["000.00.14.H20", "000.00.00.G22", "000.00.00.K41", "001.10.35.H63", "000.00.00.H01"],
    "procedure-code": ["1.000894", "2.002213", "3.000123", "1.001612.000.00.00.H48"],
    "personal-id": ["001085012345", "048192003456", "079203000001", "096199123456", "092405000000", "077300999999"],
    "cmnd": ["123456789", "025678901", "000000000"],
    "citizen-id": ["001085012345", "123456789"],
    "phone-vn": ["0912345678", "0905123456", "0321234567", "0861234567", "0591234567", "84912345678",
                 "02438253536", "02838221234", "02773851234", "02363822123", "842438253536", "842773851234"],
    "mobile-vn": ["0912345678", "0981234567", "0701234567", "84912345678", "84321234567"],
    "date": ["2023-11-20", "2024-02-29", "2000-02-29", "1900-01-01", "2099-12-31"],
    "date-time": ["2023-11-20T08:30:00+07:00", "2023-11-20T01:30:00Z", "2023-11-20t01:30:00z",
                  "2023-11-20T08:30:00.123+07:00", "2023-11-20T08:30:00.123456789-03:30",
                  "2024-02-29T23:59:59+00:00", "2023-11-20T08:30:00+23:59"],
    "uri": ["https://dichvucong.gov.vn/p/home/files/1", "http://10.1.15.138:8080/files?id=1&x=2", "urn:isbn:123"],
    "ip-address": ["113.161.42.17", "2001:db8::1", "::1"],
    "email": ["hongnhung.nguyen@example.vn"],
    "ipv4": ["127.0.0.1"],
    "uuid": ["a3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d"],
}

INVALID: dict[str, list[str]] = {
    "dossier-code": [
        "000.00.14.H20-230230-0001",      # 30 February
        "000.00.14.H20-230229-0001",      # 2023 is not a leap year
        "000.00.14.H20-231320-0001", "000.00.14.H20-231100-0001", "000.00.14.H20-231131-0001",
        "000.00.14.X20-231120-0001", "000.00.14.H00-231120-0001", "000.00.14.h20-231120-0001",
        "000.00.14.H20-231120-001", "000.00.14.H20-231120-00011", "000.00.14.H20_231120_0001",
        "000.00.14.H20-2311200001", "000.00.14.H20-231120-0001\n", "000.00.14.H20-231120-0001\r\n",
        " 000.00.14.H20-231120-0001", "000.00.14.H20-231120-0001 ", "\u0660\u0660\u0660.00.14.H20-231120-0001",
        "000.00.14.H20-231120-000\u0661", "", "000.00.14.H20",
    ],
    "agency-id": ["000.00.14.H00", "000.00.14.X20", "00.00.14.H20", "000.0.14.H20", "000.00.14.H2",
                  "000.00.14.H200", "000.00.14.H20\n", "000.00.14.H20\r\n", "000.00.14.h20", "000-00-14-H20",
                  "000.00.14.H2O", "000.00.14.HH20", "", "\uff10\uff10\uff10.00.14.H20"],
    "procedure-code": ["1.00089", "10.000894", "1.0008945", "1.000894.000.00.00.G12", "1.000894.000.00.00.H00",
                       "1.000894.001.00.00.H48", "1.000894.", "1.000894\n", "1,000894", "a.000894", ""],
    "personal-id": [
        "000085012345",   # province 000 does not exist
        "003085012345",   # 003 is not a province code (codes are not contiguous)
        "097085012345", "099085012345", "100085012345", "999085012345",
        "001685012345", "001985012345",   # century/gender digits 6-9: born 2200 or later
        "00108501234", "0010850123456", "00108501234a", "001085012345\n", "001085012345\r\n",
        "\uff10\uff10\uff11085012345", " 001085012345", "001 085 012 345", "",
    ],
    "cmnd": ["12345678", "1234567890", "12345678a", "123456789\n", "123 456 789", ""],
    "citizen-id": ["1234567890", "000085012345", ""],
    "phone-vn": [
        "0112345678",     # no 011 prefix
        "0951234567",     # 095 (S-Fone) was withdrawn
        "091234567", "09123456789", "+84912345678", "0912 345 678", "0912.345.678", "8491234567",
        "0212345678",     # a landline needs 11 digits
        "02173851234",    # 0217 is not an area code
        "0241234567", "0912345678\n", "912345678", "0084912345678", "",
    ],
    "mobile-vn": ["02438253536", "842438253536", "0112345678", "84 912345678", "0912345678\r\n"],
    "date": ["2023-02-29", "1900-02-29", "2023-13-01", "2023-11-31", "2023-00-10", "20231120", "2023/11/20",
             "2023-11-20T00:00:00+07:00", "2023-11-20\n", "23-11-20", "2023-1-20", "", "\u0662023-11-20"],
    "date-time": [
        "2023-11-20T08:30:00",            # no offset: ambiguous
        "2023-11-20 08:30:00+07:00", "2023-11-20T24:00:00Z", "2023-11-20T08:60:00Z",
        "2023-11-20T08:30:60Z",           # leap second
        "2023-02-30T08:30:00Z", "2023-11-20T08:30:00+24:00", "2023-11-20T08:30:00+07:60",
        "2023-11-20T08:30:00+0700", "20231120083000", "2023-11-20T08:30+07:00", "2023-11-20T08:30:00.+07:00",
        "2023-11-20T08:30:00+07:00\n", "2023/11/20 08:30:00", "2023-11-20", "",
    ],
    "uri": ["not a uri", "/relative/path", "https://x.vn/a b", "https://x.vn/\r\nX: y", "http://", "", "http://[::1"],
    "ip-address": ["256.1.1.1", "1.2.3", "", "localhost"],
    "email": ["not-an-email"],
    "ipv4": ["1.2.3"],
    "uuid": ["not-a-uuid"],
}


def _cases(table: dict[str, list[str]]) -> list[tuple[str, str]]:
    return [(fmt, value) for fmt, values in table.items() for value in values]


@pytest.mark.parametrize("fmt,value", _cases(VALID))
def test_valid_values_conform(fmt: str, value: str) -> None:
    assert FORMAT_CHECKER.conforms(value, fmt), (fmt, value)


@pytest.mark.parametrize("fmt,value", _cases(INVALID))
def test_invalid_values_are_refused(fmt: str, value: str) -> None:
    assert not FORMAT_CHECKER.conforms(value, fmt), (fmt, value)


def test_every_hub_format_is_registered_and_described() -> None:
    ours = {"dossier-code", "agency-id", "procedure-code", "personal-id", "cmnd", "citizen-id", "phone-vn",
            "mobile-vn", "date", "date-time", "uri", "ip-address"}
    standard = {"email", "idn-email", "ipv4", "ipv6", "regex", "uuid"}
    assert set(FORMAT_CHECKER.checkers) == ours | standard
    assert set(FORMAT_CHECKER.checkers) <= set(FORMAT_DESCRIPTIONS)


def test_non_strings_are_left_to_the_type_keyword() -> None:
    for fmt in FORMAT_CHECKER.checkers:
        assert FORMAT_CHECKER.conforms(12345, fmt)
        assert FORMAT_CHECKER.conforms(None, fmt)


def test_registering_did_not_touch_jsonschemas_global_checker() -> None:
    from jsonschema import FormatChecker
    assert "dossier-code" not in FormatChecker.checkers


def test_province_table_is_the_63_codes() -> None:
    codes = formats.PROVINCE_CODES
    assert len(codes) == 63 == len(set(codes.values()))
    assert codes["001"] == "Hà Nội" and codes["079"] == "TP Hồ Chí Minh"
    assert codes["092"] == "Cần Thơ" and codes["096"] == "Cà Mau"
    assert all(len(c) == 3 and c.isdigit() and "001" <= c <= "096" for c in codes)


def test_personal_id_accepts_exactly_the_province_codes() -> None:
    accepted = {f"{n:03d}" for n in range(1000) if formats.is_personal_id(f"{n:03d}085012345")}
    assert accepted == set(formats.PROVINCE_CODES)


@pytest.mark.parametrize("personal_id,expected", [
    ("001085012345", "male"), ("048192003456", "female"), ("079203000001", "male"),
    ("079305004321", "female"), ("092405000000", "male"), ("092505000000", "female"),
])
def test_gender_of(personal_id: str, expected: str) -> None:
    assert formats.gender_of(personal_id) == expected


@pytest.mark.parametrize("bad", ["000085012345", "001685012345", "12345", ""])
def test_gender_of_refuses_invalid_ids(bad: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        formats.gender_of(bad)
    assert bad not in str(excinfo.value) or not bad


@pytest.mark.parametrize("personal_id,birth,expected", [
    ("001085012345", date(1985, 9, 2), True),
    ("001085012345", "1985-09-02", True),
    ("001085012345", date(2085, 9, 2), False),     # digit 0 means the 1900s
    ("001085012345", date(1986, 1, 1), False),     # year digits 85
    ("048192003456", date(1992, 5, 14), True),
    ("048192003456", date(2092, 5, 14), False),
    ("079203000001", date(2003, 1, 1), True),
    ("079203000001", date(1903, 1, 1), False),     # digit 2 means the 2000s
    ("079305004321", "2005-06-01", True),
    ("092405000000", date(2105, 1, 1), True),
    ("092405000000", date(2005, 1, 1), False),
    ("000085012345", date(1985, 1, 1), False),     # invalid id: never consistent
    ("001085012345", "1985-02-30", False),         # invalid date
    ("001085012345", "02/09/1985", False),
])
def test_personal_id_consistent_with_birth(personal_id: str, birth: date | str, expected: bool) -> None:
    assert formats.personal_id_consistent_with_birth(personal_id, birth) is expected


@pytest.mark.parametrize("raw,expected", [
    ("0912345678", "84912345678"), ("0912 345 678", "84912345678"), ("+84 912-345-678", "84912345678"),
    ("84912345678", "84912345678"), (" 0905.123.456 ", "84905123456"),
    ("(024) 3825 3536", "842438253536"), ("0277 3851 234", "842773851234"), ("+842438253536", "842438253536"),
])
def test_normalise_phone(raw: str, expected: str) -> None:
    assert formats.normalise_phone(raw) == expected
    assert formats.is_phone_vn(formats.normalise_phone(raw))


@pytest.mark.parametrize("raw", ["12345", "0112345678", "+1 415 555 0100", "", "09123456789", "0912345678\n0"])
def test_normalise_phone_refuses(raw: str) -> None:
    with pytest.raises(ValueError):
        formats.normalise_phone(raw)


def test_parse_date_time_gives_aware_datetimes() -> None:
    parsed = formats.parse_date_time("2023-11-20t01:30:00.5z")
    assert parsed.utcoffset() is not None and parsed.hour == 1 and parsed.microsecond == 500000
    assert formats.parse_date_time("2023-11-20T08:30:00+07:00") == formats.parse_date_time("2023-11-20T01:30:00Z")
    with pytest.raises(ValueError):
        formats.parse_date_time("2023-11-20T08:30:00")


def test_agency_letters_are_a_constant_including_partners_md_letters() -> None:
    assert {"H", "G"} <= formats.AGENCY_LEVEL1_LETTERS
    for letter in "ABCDEFIJLMNOPQRSTUVWXYZ":
        if letter not in formats.AGENCY_LEVEL1_LETTERS:
            assert not formats.is_agency_id(f"000.00.00.{letter}20")
