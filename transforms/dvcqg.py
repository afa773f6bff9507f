"""Canonical dossier messages <-> DVCQG items (partners.md §1). Pure functions, no I/O.

Outbound: ``dvcqg_dossier`` (dossier.sync -> one item of DongBoHoSoMC ``data``), ``dvcqg_step``
(dossier.progress -> one item of CapNhatTienDoHoSoMC ``data``), ``dvcqg_evaluation`` (dossier.evaluation -> one
item of DongBoDanhGia ``data``), ``dvcqg_payment`` (payment.completed -> the fee and payment fields the connector
lays over the portal's copy of the dossier, sent as a DongBoHoSoMC update; docs/dvcqg.md "Payment status"). Inbound: :func:`submitted_from_dvcqg` (an online dossier pulled from the portal ->
``dossier.submitted`` payload), used by the connector's poll.

The portal wants every scalar as a string, dates as ``yyyyMMddHHmmss`` in Asia/Ho_Chi_Minh, and the empty string
(never null, never a missing key) for what is absent.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hub import registry
from hub.contracts import TransformContext

VN = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")   # no DST in Vietnam since 1975: a fixed offset is exact
DATE_FORMAT = "%Y%m%d%H%M%S"
APPLICANT_TYPES = {"citizen": "1", "organisation": "2"}
RESULT_DELIVERY = {"counter": "0", "post": "1"}
FEE_KINDS = {"fee": "1", "charge": "2"}       # LoaiPhiLePhi: 1 phí, 2 lệ phí [I]
SATISFACTION = {"very_satisfied": "1", "satisfied": "2", "dissatisfied": "3"}   # MucDoHaiLong [I]


def vn_date(value: str | None) -> str:
    """ISO 8601 (any offset) -> yyyyMMddHHmmss in Vietnam time; '' when absent. Naive times are taken as UTC."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(VN).strftime(DATE_FORMAT)


def iso_date(value: Any) -> str | None:
    """yyyyMMddHHmmss (Vietnam time) -> ISO 8601 with +07:00; None when empty."""
    if not value:
        return None
    return datetime.strptime(str(value), DATE_FORMAT).replace(tzinfo=VN).isoformat()


def text(value: Any) -> str:
    return "" if value is None else str(value)


def flag(value: bool | None) -> str:
    return "True" if value else "False"


def attachment_item(a: dict[str, Any]) -> dict[str, str]:
    return {"TepDinhKemId": a["file_id"], "TenTepDinhKem": a["file_name"], "IsDeleted": flag(a.get("deleted")),
            "MaThanhPhanHoSo": text(a.get("component_code")), "DuongDanTaiTepTin": text(a.get("url"))}


def result_item(r: dict[str, Any]) -> dict[str, str]:
    return {"TenGiayTo": r["name"], "MaThanhPhanHoSo": text(r.get("component_code")),
            "GiayToId": text(r.get("document_id")), "DuongDanTepTinKetQua": text(r.get("url"))}


def fee_item(f: dict[str, Any]) -> dict[str, str]:
    return {"TenPhiLePhi": f["name"], "MaPhiLePhi": text(f.get("code")), "HinhThucThu": text(f.get("collection_method")),
            "Gia": str(f["amount"]), "LoaiPhiLePhi": FEE_KINDS.get(f.get("kind", ""), "")}


def supplement_item(s: dict[str, Any]) -> dict[str, Any]:
    return {"HoSoBoSungId": text(s.get("id")), "NguoiYeuCauBoSung": text(s.get("requested_by")),
            "NoiDungBoSung": s["content"], "NgayBoSung": vn_date(s.get("requested_at")),
            "NguoiTiepNhanBoSung": text(s.get("received_by")), "ThongTinTiepNhan": text(s.get("receipt_info")),
            "NgayTiepNhanBoSung": vn_date(s.get("received_at")), "TrangThaiBoSung": text(s.get("status")),
            "DanhSachGiayToBoSung": [attachment_item(a) for a in s.get("documents", [])],
            "DanhSachLePhiBoSung": [fee_item(f) for f in s.get("fees", [])],
            "NgayHenTraTruoc": vn_date(s.get("previous_due_at")), "NgayHenTraMoi": vn_date(s.get("new_due_at"))}


@registry.transforms.register("dvcqg_dossier")
def dossier_item(p: dict[str, Any], ctx: TransformContext | None = None) -> dict[str, Any]:
    return {
        "MaHoSo": p["dossier_code"], "MaTTHC": p["procedure_code"], "TenTTHC": p["procedure_name"],
        "MaLinhVuc": p["sector_code"], "TenLinhVuc": text(p.get("sector_name")),
        "SoBienNhan": text(p.get("receipt_number")), "ChuHoSo": p["applicant_name"],
        "LoaiDoiTuong": APPLICANT_TYPES[p["applicant_type"]], "MaDoiTuong": text(p.get("applicant_id")),
        "ThongTinKhac": text(p.get("other_info")), "Email": text(p.get("email")), "Fax": text(p.get("fax")),
        "SoDienThoai": text(p.get("phone")), "TrichYeuHoSo": text(p.get("summary")),
        "NgayTiepNhan": vn_date(p["received_at"]), "NgayHenTra": vn_date(p.get("due_at")),
        "TrangThaiHoSo": str(p["status"]), "NgayTra": vn_date(p.get("returned_at")),
        "ThongTinTra": text(p.get("return_info")), "HinhThuc": RESULT_DELIVERY.get(p.get("result_delivery", ""), "0"),
        "NgayKetThucXuLy": vn_date(p.get("finished_at")), "DonViXuLy": text(p.get("handling_agency")),
        "GhiChu": text(p.get("note")), "KenhThucHien": str(p["channel"]),
        "TaiLieuNop": [attachment_item(a) for a in p.get("attachments", [])],
        "DanhSachGiayToKetQua": [result_item(r) for r in p.get("results", [])],
        "DanhSachLePhi": [fee_item(f) for f in p.get("fees", [])],
        "DanhSachHoSoBoSung": [supplement_item(s) for s in p.get("supplements", [])],
    }


@registry.transforms.register("dvcqg_step")
def step_item(p: dict[str, Any], ctx: TransformContext | None = None) -> dict[str, str]:
    return {"MaHoSo": p["dossier_code"], "NguoiXuLy": p["handler_name"], "ChucDanh": text(p.get("handler_title")),
            "ThoiDiemXuLy": vn_date(p["handled_at"]), "PhongBanXuLy": text(p.get("department")),
            "NoiDungXuLy": p["content"], "TrangThai": str(p["status"]), "NgayBatDau": vn_date(p.get("started_at")),
            "NgayKetThucTheoQuyDinh": vn_date(p.get("due_at"))}


@registry.transforms.register("dvcqg_evaluation")
def evaluation_item(p: dict[str, Any], ctx: TransformContext | None = None) -> dict[str, Any]:
    return {"MaHoSo": p["dossier_code"], "MaTTHC": text(p.get("procedure_code")), "MaDonVi": text(p.get("agency_id")),
            "NgayDanhGia": vn_date(p["evaluated_at"]), "MucDoHaiLong": SATISFACTION[p["satisfaction"]],
            "DanhSachCauTraLoi": [{"MaCauHoi": a["question_code"], "MaDapAn": a["answer_code"],
                                   "GhiChu": text(a.get("comment"))} for a in p.get("answers", [])],
            "NoiDungGopY": text(p.get("comment"))}


#: how the portal shows the intermediary (KenhThanhToan, [I]); an unknown provider is shown as named
PROVIDER_NAMES = {"paygov": "PayGov", "vnpay": "VNPay", "momo": "MoMo", "vnptpay": "VNPT Pay", "vietinbank": "VietinBank"}
PAID = "1"                                    # TrangThaiThanhToan: 1 đã thanh toán [I]
#: the fields a payment sets on the portal's dossier (and nothing else: the rest stays as the portal has it)
PAYMENT_FIELDS = ("DanhSachLePhi", "TrangThaiThanhToan", "KenhThanhToan", "MaThamChieuThanhToan",
                  "MaGiaoDichThanhToan", "SoTienThanhToan", "NgayThanhToan")


@registry.transforms.register("dvcqg_payment")
def payment_item(p: dict[str, Any], ctx: TransformContext | None = None) -> dict[str, Any]:
    """A verified payment -> ``MaHoSo`` plus :data:`PAYMENT_FIELDS`. Fees collected online say through whom
    (HinhThucThu) unless the one-stop system named the collection method itself."""
    channel = PROVIDER_NAMES.get(p["provider"], p["provider"])
    fees = [fee_item({**f, "collection_method": f.get("collection_method") or f"Trực tuyến qua {channel}"})
            for f in p.get("fees", [])]
    return {"MaHoSo": p["dossier_code"], "DanhSachLePhi": fees, "TrangThaiThanhToan": PAID if p["paid"] else "0",
            "KenhThanhToan": channel, "MaThamChieuThanhToan": p["reference"],
            "MaGiaoDichThanhToan": text(p.get("transaction_id")), "SoTienThanhToan": str(p["amount"]),
            "NgayThanhToan": vn_date(p["completed_at"])}


def _drop_empty(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v not in ("", None)}


def submitted_from_dvcqg(item: dict[str, Any], agency_id: str) -> dict[str, Any]:
    """An online dossier of the portal's queue -> canonical ``dossier.submitted``; ``agency_id`` is its owner."""
    kinds = {v: k for k, v in FEE_KINDS.items()}
    payload = {
        "dossier_code": item["MaHoSo"], "agency_id": agency_id, "procedure_code": item["MaTTHC"],
        "procedure_name": item.get("TenTTHC"), "sector_code": item.get("MaLinhVuc"), "sector_name": item.get("TenLinhVuc"),
        "applicant_name": item["ChuHoSo"],
        "applicant_type": {v: k for k, v in APPLICANT_TYPES.items()}.get(str(item.get("LoaiDoiTuong")), "citizen"),
        "applicant_id": item.get("MaDoiTuong"), "applicant_address": item.get("ThongTinKhac"),
        "email": item.get("Email"), "phone": item.get("SoDienThoai"), "summary": item.get("TrichYeuHoSo"),
        "submitted_at": iso_date(item.get("NgayTiepNhan")), "due_at": iso_date(item.get("NgayHenTra")),
        "channel": int(item.get("KenhThucHien") or 2), "note": item.get("GhiChu"),
        "attachments": [_drop_empty({"file_id": a["TepDinhKemId"], "file_name": a["TenTepDinhKem"],
                                     "component_code": a.get("MaThanhPhanHoSo"), "url": a.get("DuongDanTaiTepTin")})
                        for a in item.get("TaiLieuNop") or [] if str(a.get("IsDeleted")) != "True"],
        "fees": [_drop_empty({"code": f.get("MaPhiLePhi"), "name": f["TenPhiLePhi"], "amount": int(f.get("Gia") or 0),
                              "kind": kinds.get(str(f.get("LoaiPhiLePhi"))),
                              "collection_method": f.get("HinhThucThu")}) for f in item.get("DanhSachLePhi") or []],
    }
    return {k: v for k, v in payload.items() if v not in ("", None, [])}


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return default


def procedure_from_dvcqg(record: dict[str, Any], dvc: list[dict[str, Any]] | None = None,
                         synced_at: str | None = None) -> dict[str, Any]:
    """A CSDL TTHC record (LayThuTuc) plus its LayDVC online services -> canonical ``procedure.sync`` payload."""
    levels = {"toàn trình": "full", "một phần": "partial", "4": "full", "3": "partial"}
    methods = []
    for m in record.get("CACHTHUCTHUCHIEN") or []:
        durations = [_drop_empty({
            "duration": float(t["THOIGIANGIAIQUYET"]) if t.get("THOIGIANGIAIQUYET") not in (None, "") else None,
            "unit": t.get("DONVITINH"), "description": t.get("MOTA"),
            "fees": [_drop_empty({"code": f.get("MAPHILEPHI"), "amount": _int(f.get("SOTIEN")), "unit": f.get("DONVI"),
                                  "description": f.get("MOTA")}) for f in t.get("PHILEPHI") or []]})
            for t in m.get("THOIGIAN") or []]
        methods.append({"channel": _int(m.get("KENH"), 1), "durations": durations})
    payload = {
        "procedure_code": record["MATTHC"], "name": record["TENTTHC"],
        "sectors": [_drop_empty({"code": s["MALINHVUC"], "name": s.get("TENLINHVUC")})
                    for s in record.get("LINHVUCTHUCHIEN") or []],
        "publishing_agency_code": record.get("MACOQUANCONGBO"), "steps": record.get("TRINHTUTHUCHIEN"),
        "methods": methods,
        "components": [{"documents": [_drop_empty({"code": d.get("MAGIAYTO"), "name": d["TENGIAYTO"],
                                                   "form_name": d.get("TENMAUDON"), "form_url": d.get("URL")})
                                      for d in c.get("GIAYTO") or []]} for c in record.get("THANHPHANHOSO") or []],
        "requirements": record.get("YEUCAU"), "result": record.get("KETQUATHUCHIEN"),
        "legal_basis": record.get("CANCUPHAPLY"), "active": str(record.get("TRANGTHAI")) == "1",
        "agencies": [_drop_empty({"code": a["MADONVI"], "name": a.get("TENDONVI")})
                     for a in record.get("COQUANTHUCHIEN") or []],
        "online_services": [{"agency_code": a["MACOQUANTHUCHIEN"],
                             "level": levels.get(str(a.get("MUCDO", "")).strip().lower(), "partial")}
                            for a in dvc or [] if a.get("MACOQUANTHUCHIEN")],
        "synced_at": synced_at,
    }
    return {k: v for k, v in payload.items() if v not in ("", None)}
