"""DVCQG transforms against their golden files (Vietnamese text kept as is), and the portal's date rules."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.schemas import default_catalog
from transforms.dvcqg import (PAYMENT_FIELDS, dossier_item, evaluation_item, payment_item, procedure_from_dvcqg, step_item,
                              submitted_from_dvcqg, vn_date)

ROOT = Path(__file__).resolve().parents[1]
FIXTURES, GOLDEN = ROOT / "fixtures" / "messages", ROOT / "golden" / "dvcqg"


def load(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("message_type,transform", [
    ("dossier.sync", dossier_item), ("dossier.progress", step_item), ("dossier.evaluation", evaluation_item),
    ("payment.completed", payment_item)])
def test_outbound_matches_golden_file(message_type, transform):
    assert transform(load(FIXTURES / f"{message_type}.json")) == load(GOLDEN / f"{message_type}.out.json")


def test_golden_files_keep_diacritics():
    text = (GOLDEN / "dossier.sync.out.json").read_text(encoding="utf-8")
    assert "Nguyễn Thị Hồng Nhung" in text and "\\u" not in text


def test_dossier_item_has_every_field_and_empty_strings_when_absent():
    minimal = {"dossier_code": "000.00.14.H20-231120-0002", "procedure_code": "1.000894", "procedure_name": "Đăng ký kết hôn",
               "sector_code": "G09-HT", "applicant_name": "Lê Thị Thu Hà", "applicant_type": "organisation",
               "status": 1, "channel": 1, "received_at": "2023-11-20T01:15:00Z"}
    item = dossier_item(minimal)
    assert set(item) == set(load(GOLDEN / "dossier.sync.out.json"))
    assert item["NgayTiepNhan"] == "20231120081500"           # UTC -> Vietnam time
    assert item["NgayHenTra"] == item["Email"] == item["NgayTra"] == ""
    assert item["LoaiDoiTuong"] == "2" and item["TrangThaiHoSo"] == "1"
    assert item["TaiLieuNop"] == item["DanhSachLePhi"] == item["DanhSachGiayToKetQua"] == []


def test_payment_item_sets_only_the_payment_fields_and_strings():
    paid = {"dossier_code": "000.00.14.H20-231120-0007", "provider": "momo", "reference": "M0007", "amount": 20000,
            "paid": True, "result_code": "0", "completed_at": "2023-11-20T23:30:00Z"}
    item = payment_item(paid)
    assert set(item) == {"MaHoSo", *PAYMENT_FIELDS}
    assert item["NgayThanhToan"] == "20231121063000"          # UTC -> Vietnam time, next calendar day
    assert item["KenhThanhToan"] == "MoMo" and item["SoTienThanhToan"] == "20000"
    assert item["MaGiaoDichThanhToan"] == "" and item["DanhSachLePhi"] == []
    assert all(isinstance(v, str) for k, v in item.items() if k != "DanhSachLePhi")


@pytest.mark.parametrize("iso,expected", [("2023-12-31T23:59:59+07:00", "20231231235959"),
                                          ("2023-12-31T17:00:00+00:00", "20240101000000"), (None, "")])
def test_vn_dates(iso, expected):
    assert vn_date(iso) == expected


def test_online_dossier_becomes_a_valid_dossier_submitted():
    payload = submitted_from_dvcqg(load(GOLDEN / "online-dossier.in.json"), "000.00.14.H20")
    assert payload == load(GOLDEN / "dossier.submitted.out.json")
    assert default_catalog().validate_payload("dossier.submitted", payload) == []


def test_procedure_record_becomes_a_valid_procedure_sync():
    source = load(GOLDEN / "procedure.in.json")
    payload = procedure_from_dvcqg(source["LayThuTuc"], source["LayDVC"], "2023-11-20T02:00:00+07:00")
    assert payload == load(GOLDEN / "procedure.sync.out.json")
    assert default_catalog().validate_payload("procedure.sync", payload) == []


def test_dossier_sync_fixture_is_valid_canonical():
    assert default_catalog().validate_payload("dossier.sync", load(FIXTURES / "dossier.sync.json")) == []
