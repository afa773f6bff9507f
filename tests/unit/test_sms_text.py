"""SMS text preparation shared by the Viettel and VNPT connectors: numbers, GSM-7 folding, segments, templates,
and the sandbox templates and status routes (every route's template exists and fits)."""
from __future__ import annotations

import jsonschema
import pytest
import yaml

from connectors import _sms
from hub.errors import PermanentError
from tests.conftest import ROOT
from tests.contract.kit import delivery_for

CONNECTORS = yaml.safe_load((ROOT / "config/connectors.yaml").read_text(encoding="utf-8"))["connectors"]
ROUTES = yaml.safe_load((ROOT / "config/routes.yaml").read_text(encoding="utf-8"))["routes"]
TEMPLATES = CONNECTORS["sms_viettel"]["templates"]
DOSSIER = {"dossier_code": "000.00.14.H20-231120-0001", "phone": "0905123456", "received_at": "2023-11-20T08:15:00+07:00",
           "due_at": "2023-11-22T16:30:00+07:00", "status": 2}


@pytest.mark.parametrize("given,expected", [("0905123456", "84905123456"), ("0905 123 456", "84905123456"),
                                            ("+84 905.123.456", "84905123456"), ("84905123456", "84905123456"),
                                            ("(090) 512-3456", "84905123456")])
def test_receivers_normalised_to_84(given, expected):
    assert _sms.receiver(given) == expected


@pytest.mark.parametrize("bad", ["", None, "02773822222", "0123456789", "841234", "0905123456789", "abc", "+14155550100"])
def test_non_mobiles_refused_with_the_number_masked(bad):
    with pytest.raises(PermanentError) as info:
        _sms.receiver(bad)
    assert info.value.code == "sms.bad_number" and (not bad or bad not in info.value.detail)


def test_gsm7_folding_strips_marks_and_typographic_punctuation():
    assert _sms.to_gsm7("Đặng Thị Ánh – “hồ sơ” ’ok’…") == 'Dang Thi Anh - "ho so" \'ok\'...'
    assert _sms.to_gsm7("Hồ sơ ✓ 中") == "Ho so ? ?"                     # nothing GSM-7 lacks goes out
    decomposed = "Nguye\u0302\u0303n"                                  # NFD input folds the same as NFC
    assert _sms.to_gsm7(decomposed) == "Nguyen"


def test_one_strip_diacritics_for_the_hub():
    import hub.privacy
    import hub.text
    assert hub.privacy.strip_diacritics is hub.text.strip_diacritics


def test_unicode_kept_when_the_route_or_payload_asks():
    text = "Hồ sơ đã có kết quả"
    plain = _sms.prepare(delivery_for("sms.send", {"phone": "0905123456", "content": text}), {})
    assert (plain.text, plain.encoding, plain.unicode) == ("Ho so da co ket qua", "gsm7", False)
    routed = _sms.prepare(delivery_for("sms.send", {"phone": "0905123456", "content": text}, options={"unicode": True}), {})
    assert (routed.text, routed.encoding) == (text, "ucs2")
    refused = _sms.prepare(delivery_for("sms.send", {"phone": "0905123456", "content": text, "unicode": False},
                                        options={"unicode": True}), {})
    assert refused.encoding == "gsm7"                                  # the payload's own choice wins


def test_template_fields_derive_dates_and_status_name():
    fields = _sms.template_fields({**DOSSIER, "fees": [{"amount": 1}], "flag": True})
    assert fields["received_date"] == "20/11/2023" and fields["due_date"] == "22/11/2023"
    assert fields["status_name"] == "Đã tiếp nhận" and "fees" not in fields and "flag" not in fields


def test_templates_schema_refuses_attribute_and_index_access():
    validator = jsonschema.Draft202012Validator(_sms.TEMPLATES_SCHEMA)
    assert not list(validator.iter_errors(TEMPLATES))
    for bad in ("{x.__class__}", "{x[0]}", "{x!r}", "{x:>10}", "{}", "unclosed {x"):
        assert list(validator.iter_errors({"t": bad})), bad


def test_every_status_route_names_a_template_that_renders_in_one_gsm7_sms():
    routes = [r for r in ROUTES if r["to"] in ("sms_viettel", "sms_vnpt") and r["from"] == "dossier.sync"]
    assert {r["when"]["payload.status"] for r in routes} == {2, 5, 6, 9}
    for route in routes:
        name = route["options"]["template"]
        assert name in TEMPLATES and name in CONNECTORS["sms_vnpt"]["templates"]
        sms = _sms.prepare(delivery_for("dossier.sync", {**DOSSIER, "status": route["when"]["payload.status"]},
                                        options=route["options"]), CONNECTORS["sms_viettel"])
        assert sms.encoding == "gsm7" and sms.segments <= 2 and "{" not in sms.text, (name, sms.text)
