"""PayGov (national payment platform on DVCQG) sandbox: payment requests checked and answered with a URL,
signed result callbacks, the day's transaction list (đối soát).

* ``POST /api/thanhtoan/khoitao`` -> ``{MaLoi: "00", UrlThanhToan, MaGiaoDich, ...}``; MaLoi 01 bad field,
  07 bad MaXacThuc or unknown MaDoiTac, 02 MaThamChieu already used for another amount;
* ``GET /thanhtoan?MaThamChieu=`` -> the payment page;
* ``POST /api/thanhtoan/doisoat`` ``{LoaiBanTin: "3", MaDoiTac, Ngay: yyyyMMdd, MaXacThuc}`` -> ``{MaLoi, DanhSachGiaoDich}``;
* control endpoints: see simulators/_payments.py. Endpoint paths and MaLoi values besides 00/99 are [I].
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from hub import registry
from hub.signing.checksums import paygov_sign_callback, paygov_sign_request, pipe_sha256
from simulators._payments import Ipn, PaymentSimulator, Txn
from simulators.base import json_response

SECRET_ENV, SECRET_DEFAULT = "HUB_PAYGOV_SECRET", "sandbox-paygov-secret"
PARTNER_CODE = "LGSP-H20"


class PaygovSimulator(PaymentSimulator):
    secret_env, secret_default, prefix = SECRET_ENV, SECRET_DEFAULT, "PG"

    def __init__(self, options: dict | None = None) -> None:
        super().__init__(options)
        self.partner_code = self.options.get("partner_code", PARTNER_CODE)
        self.route("POST", "/api/thanhtoan/khoitao", self.open_payment)
        self.route("GET", "/thanhtoan", self.page)
        self.route("POST", "/api/thanhtoan/doisoat", self.reconciliation)

    def open_payment(self, request: Request) -> Response:
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            return json_response({"MaLoi": "01", "MoTaLoi": "Dữ liệu không hợp lệ"}, 400)
        if body.get("MaDoiTac") != self.partner_code or \
                paygov_sign_request(body, self.secret) != str(body.get("MaXacThuc", "")).lower():
            return json_response({"MaLoi": "07", "MoTaLoi": "Sai mã xác thực"})
        reference, amount = str(body.get("MaThamChieu", "")), body.get("SoTien")
        if not reference or len(reference) > 20 or not isinstance(amount, int) or amount <= 0 \
                or not (body.get("ThongTinBienLai") or {}).get("MaHoSo"):
            return json_response({"MaLoi": "01", "MoTaLoi": "Thiếu hoặc sai trường dữ liệu"})
        existing = self.orders.get(reference)
        if existing and existing["amount"] != amount:
            return json_response({"MaLoi": "02", "MoTaLoi": "Mã tham chiếu đã tồn tại"})
        if existing is None:
            existing = {"reference": reference, "amount": amount, "info": body.get("ThongTinGiaoDich", ""),
                        "bank_code": body.get("MaNganHang") or "VCB", "order_id": self.next_id(),
                        "receipt": body.get("ThongTinBienLai")}
            self.remember(reference, existing)
        return json_response({"MaLoi": "00", "MoTaLoi": "Thành công", "MaThamChieu": reference,
                              "MaGiaoDich": existing["order_id"],
                              "UrlThanhToan": f"{request.url_root}thanhtoan?MaThamChieu={reference}"})

    def page(self, request: Request) -> Response:
        order = self.orders.get(request.args.get("MaThamChieu", ""))
        if order is None:
            return Response("Không tìm thấy giao dịch", status=404, content_type="text/plain; charset=utf-8")
        return Response(f"Cổng thanh toán quốc gia: {order['amount']} VND", content_type="text/plain; charset=utf-8")

    def build_ipn(self, order: dict[str, Any], txn: Txn, secret: str) -> Ipn:
        body: dict[str, Any] = {
            "LoaiBanTin": "2", "MaLoi": "00" if txn.paid else "05", "MaDoiTac": self.partner_code,
            "MaThamChieu": txn.reference, "SoTien": txn.amount, "MaTienTe": "VND", "MaGiaoDich": txn.transaction_id,
            "MaNganHang": order["bank_code"], "ThoiGianGD": txn.at.strftime("%Y%m%d%H%M%S"),
            "ThongTinGiaoDich": order["info"]}
        body["MaXacThuc"] = paygov_sign_callback(body, secret, self.partner_code)
        return Ipn("POST", body=json.dumps(body, ensure_ascii=False).encode("utf-8"))

    def reconciliation(self, request: Request) -> Response:
        body = request.get_json(force=True, silent=True) or {}
        expected = pipe_sha256([body.get("LoaiBanTin"), body.get("MaDoiTac"), body.get("Ngay")], self.secret)
        if body.get("MaDoiTac") != self.partner_code or expected != str(body.get("MaXacThuc", "")).lower():
            return json_response({"MaLoi": "07", "MoTaLoi": "Sai mã xác thực"})
        try:
            day = datetime.strptime(str(body.get("Ngay")), "%Y%m%d").strftime("%Y-%m-%d")
        except ValueError:
            return json_response({"MaLoi": "01", "MoTaLoi": "Sai định dạng ngày"})
        rows = [{"MaThamChieu": t.reference, "SoTien": t.amount, "MaGiaoDich": t.transaction_id,
                 "MaLoi": "00" if t.paid else "05", "ThoiGianGD": t.at.strftime("%Y%m%d%H%M%S")}
                for t in self.day_transactions(day)]
        return json_response({"MaLoi": "00", "MoTaLoi": "Thành công", "DanhSachGiaoDich": rows})


registry.simulators.register("paygov")(PaygovSimulator)
