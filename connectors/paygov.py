"""The national payment platform on DVCQG (PayGov), partners.md §4.

Request: JSON with ``MaXacThuc`` = SHA-256 of ``LoaiBanTin|PhienBan|MaDoiTac|MaThamChieu|SoTien|...|Ip|<secret>``,
POSTed to the platform, which answers with the payment URL. Result callback: JSON whose ``MaXacThuc`` covers
``LoaiBanTin|MaLoi|MaDoiTac|MaThamChieu|SoTien|MaTienTe|MaGiaoDich|MaNganHang|ThoiGianGD|ThongTinGiaoDich|<secret>``
— enforced here (the public one-stop code computes it and never checks it). Reply: ``{"MaLoi": "00"|"99",
"MoTaLoi", "MaDoiTac", "MaThamChieu", "ThoiGianGD", "MaXacThuc"}``; the reply checksum over
``MaLoi|MaDoiTac|MaThamChieu|ThoiGianGD|<secret>`` and the endpoint paths are integrator assumptions [I].
"""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from connectors.payments import (Callback, CallbackRefused, PartnerTransaction, PaymentConnector, amount_of,
                                 from_vn_timestamp, vn_timestamp)
from hub import errors, registry
from hub.contracts import Delivery, InboundRequest, InboundResponse
from hub.errors import PermanentError, TransientError
from hub.message import utcnow
from hub.signing.checksums import paygov_sign_request, paygov_verify_callback, pipe_sha256
from hub.store.payments import ALREADY_PAID, PaymentResult

REQUEST_KIND, RESULT_KIND, LIST_KIND = "1", "2", "3"     # LoaiBanTin [I]
FEE_KIND = {"fee": "1", "charge": "2"}                   # LoaiPhiLePhi: phí / lệ phí [I]


@registry.connectors.register("paygov")
class PaygovConnector(PaymentConnector):
    type_name = "paygov"
    provider = "paygov"
    config_schema = {
        "type": "object", "additionalProperties": False, "required": ["url", "partner_code", "secret"],
        "properties": {
            "url": {"type": "string", "pattern": "^https?://"},
            "partner_code": {"type": "string", "minLength": 1, "description": "MaDoiTac"},
            "secret": {"type": "string", "minLength": 8, "description": "(${env:...})"},
            "version": {"type": "string"}, "service_code": {"type": "string"},
            "connect_timeout": {"type": "number"}, "health_path": {"type": "string"}}}

    def payment_request(self, payload: dict[str, Any]) -> dict[str, Any]:
        created = datetime.fromisoformat(payload["created_at"].upper()) if payload.get("created_at") else utcnow()
        request: dict[str, Any] = {
            "LoaiBanTin": REQUEST_KIND, "PhienBan": self.options.get("version", "1.0.0"),
            "MaDoiTac": self.options["partner_code"], "MaThamChieu": payload["reference"], "SoTien": int(payload["amount"]),
            "LoaiHinhThanhToan": payload.get("payment_kind", "PAY"), "MaKenhThanhToan": payload.get("payment_channel", "1"),
            "MaThietBi": payload.get("device", "1"), "NgonNgu": payload.get("language", "vi"),
            "MaTienTe": payload.get("currency", "VND"), "MaNganHang": payload.get("bank_code", ""),
            "ThongTinGiaoDich": payload["description"], "ThoiGianGD": vn_timestamp(created),
            "Ip": payload.get("payer_ip", "127.0.0.1"),
            "ThongTinBienLai": {
                "MaDichVu": payload.get("service_code") or self.options.get("service_code", ""),
                "MaDonVi": payload.get("agency_id", ""), "MaHoSo": payload["dossier_code"],
                "MaTTHC": payload.get("procedure_code", ""), "HoTenNguoiNop": payload.get("payer_name", ""),
                "PhiLePhi": [{"MaPhiLePhi": f.get("code", ""), "TenPhiLePhi": f["name"], "SoTien": f["amount"],
                              "LoaiPhiLePhi": FEE_KIND.get(f.get("kind", ""), ""),
                              "HinhThucThu": f.get("collection_method", "")} for f in payload.get("fees") or []]}}
        request["MaXacThuc"] = paygov_sign_request(request, self.options["secret"])
        return request

    def open_payment(self, payload: dict[str, Any], delivery: Delivery) -> dict[str, Any]:
        request = self.payment_request(payload)
        response = self.post_json(f"{self.base_url}/api/thanhtoan/khoitao", request,
                                  {"Idempotency-Key": delivery.idempotency_key})
        body = self.json_of(self.name, response)
        code = str(body.get("MaLoi"))
        if code != "00":
            kind = TransientError if code == "96" else PermanentError   # 96: system busy [I]
            raise kind(errors.PAY_PROVIDER_REFUSED, f"{self.name}: MaLoi {code} {str(body.get('MoTaLoi'))[:100]}")
        if not body.get("UrlThanhToan") or body.get("MaThamChieu") != payload["reference"]:
            raise PermanentError(errors.DLV_BAD_REPLY, f"{self.name}: answer without UrlThanhToan for this MaThamChieu")
        return {"payment_url": body["UrlThanhToan"], "provider_reference": body.get("MaGiaoDich"),
                "status": response.status_code, "body": body}

    def parse_callback(self, request: InboundRequest) -> Callback:
        body = paygov_verify_callback(request.body, self.options["secret"], self.options["partner_code"])
        if str(body.get("LoaiBanTin")) != RESULT_KIND:
            raise CallbackRefused(errors.PAY_BAD_CALLBACK, "LoaiBanTin is not a payment result")
        reference = body.get("MaThamChieu")
        if not isinstance(reference, str) or not reference:
            raise CallbackRefused(errors.PAY_BAD_CALLBACK, "MaThamChieu missing")
        result = PaymentResult(paid=body.get("MaLoi") == "00", amount=amount_of(body.get("SoTien")),
                               result_code=str(body.get("MaLoi")), completed_at=from_vn_timestamp(body.get("ThoiGianGD")),
                               transaction_id=body.get("MaGiaoDich") or None, bank_code=body.get("MaNganHang") or None)
        return Callback(reference, result, description=body.get("ThongTinGiaoDich"))

    def _reply(self, code: str, text: str, request: InboundRequest) -> InboundResponse:
        try:   # echo the reference and time when the body could be read at all
            sent = json.loads(request.body)
            sent = sent if isinstance(sent, dict) else {}
        except ValueError:
            sent = {}
        reference, at = str(sent.get("MaThamChieu", "")), str(sent.get("ThoiGianGD", ""))
        partner = self.options["partner_code"]
        body = {"MaLoi": code, "MoTaLoi": text, "MaDoiTac": partner, "MaThamChieu": reference, "ThoiGianGD": at,
                "MaXacThuc": pipe_sha256([code, partner, reference, at], self.options["secret"])}
        return InboundResponse(200, json.dumps(body, ensure_ascii=False).encode())

    def answer(self, outcome: str, callback: Callback, request: InboundRequest) -> InboundResponse:
        return self._reply("00", "Da ghi nhan" if outcome != ALREADY_PAID else "Da ghi nhan truoc do", request)

    def refuse(self, code: str, request: InboundRequest) -> InboundResponse:
        return self._reply("99", code, request)      # MoTaLoi carries the hub's stable code

    def transactions(self, day: date) -> list[PartnerTransaction]:
        """The platform's transaction list for one day (đối soát) [I]."""
        request = {"LoaiBanTin": LIST_KIND, "MaDoiTac": self.options["partner_code"], "Ngay": day.strftime("%Y%m%d")}
        request["MaXacThuc"] = pipe_sha256([request["LoaiBanTin"], request["MaDoiTac"], request["Ngay"]],
                                           self.options["secret"])
        body = self.json_of(self.name, self.post_json(f"{self.base_url}/api/thanhtoan/doisoat", request))
        if str(body.get("MaLoi")) != "00":
            raise PermanentError(errors.PAY_RECONCILE_FAILED, f"{self.name}: MaLoi {body.get('MaLoi')}")
        return [PartnerTransaction(reference=t["MaThamChieu"], amount=int(t["SoTien"]), paid=t.get("MaLoi") == "00",
                                   transaction_id=t.get("MaGiaoDich")) for t in body.get("DanhSachGiaoDich", [])]
