"""DVCQG (national public service portal) and CSDL TTHC simulator, speaking partners.md §1–2.

* ``POST /login``  ``{username, password}`` -> ``{"session", "error_code": 0}``; sessions expire after
  ``session_ttl`` seconds (option, or ``POST /_config``), later calls answer ``invalid session``.
* ``POST /api``    header ``dstcode`` + ``{session, madonvi, service, ...}``. Services: ``TraCuuHoSo``,
  ``DongBoHoSoMC``, ``CapNhatTienDoHoSoMC``, ``DongBoDanhGia``, ``LayDanhSachTTHC``, ``LayThuTuc``, ``LayDVC``,
  ``LayDanhSachHoSoTrucTuyen`` / ``XacNhanHoSoTrucTuyen`` (the queue of online submissions, [I]).
* Answers ``{"error_code", "message", "result"}``; success is ``0`` or ``"00"`` (option ``success_code``:
  0, "00" or "random"). Batch services answer one ``result`` item per data item, each with its own code.

Error codes ([I]: the portal's own are not public; the connector maps each one, see connectors/dvcqg.py):
``-1`` invalid session · ``2`` wrong credentials · ``3`` missing dstcode · ``4`` unknown service ·
``5`` invalid data (required field, date format, status) · ``6`` dossier already exists (isUpdating "False") ·
``7`` dossier not found · ``8`` impossible status transition · ``9`` procedure not found · ``99`` busy.

Payment status ([I], docs/dvcqg.md): a DongBoHoSoMC update whose item carries ``MaThamChieuThanhToan`` is a
payment laid over the dossier; every such arrival is recorded (not de-duplicated: tests count them).

Test endpoints: ``GET /_dossiers/<code>`` (final state, status history, ordered steps, evaluations, payments),
``GET /_dossiers`` (counts), ``POST /_dossiers`` ``{"codes": [...], "status": 6}`` (dossiers the portal already
has), ``POST /_submissions`` (queue online dossiers), ``POST /_config``, ``POST /_reset``;
``POST /_faults`` also takes ``{"mode": "invalid_session" | "busy", "count": n}`` (answers -1 / 99 with HTTP 200).
"""
from __future__ import annotations

import random
import re
import threading
import time
import uuid
from typing import Any

from werkzeug.wrappers import Request, Response

from hub import registry
from simulators.base import Faults, SimulatorApp, json_response
from simulators.dvcqg_catalogue import generate

DATE_RE = re.compile(r"[0-9]{14}")
DOSSIER_REQUIRED = ("MaHoSo", "MaTTHC", "TenTTHC", "MaLinhVuc", "ChuHoSo", "LoaiDoiTuong", "NgayTiepNhan",
                    "TrangThaiHoSo")
DOSSIER_DATES = ("NgayTiepNhan", "NgayHenTra", "NgayTra", "NgayKetThucXuLy", "NgayThanhToan")
STEP_REQUIRED = ("MaHoSo", "NguoiXuLy", "ThoiDiemXuLy", "NoiDungXuLy", "TrangThai")
STEP_DATES = ("ThoiDiemXuLy", "NgayBatDau", "NgayKetThucTheoQuyDinh")
#: which status may follow which (the same status again is always allowed: a re-sync of fields)
TRANSITIONS: dict[int, set[int]] = {
    1: {2, 3, 7}, 2: {4, 5, 6, 7, 8, 9}, 3: set(), 4: {5, 6, 7, 8, 9}, 5: {4, 6, 7, 8, 9},
    6: {4, 5, 7, 8, 9}, 7: set(), 8: set(), 9: {10}, 10: set()}


def _date_ok(value: Any) -> bool:
    """``yyyyMMddHHmmss``, or the empty string when absent."""
    if value in ("", None):
        return True
    if not isinstance(value, str) or not DATE_RE.fullmatch(value):
        return False
    try:
        time.strptime(value, "%Y%m%d%H%M%S")
        return True
    except ValueError:
        return False


def missing_or_bad(item: Any, required: tuple[str, ...], dates: tuple[str, ...]) -> str | None:
    if not isinstance(item, dict):
        return "data item is not an object"
    for name in required:
        if item.get(name) in (None, ""):
            return f"thiếu trường bắt buộc {name}"
    for name in dates:
        if not _date_ok(item.get(name, "")):
            return f"{name} không đúng định dạng yyyyMMddHHmmss"
    return None


class DvcqgFaults(Faults):
    """The base faults plus ``invalid_session`` (the portal forgets sessions: restart, load balancer switch) and
    ``busy`` (error_code 99 with HTTP 200, as overloaded portals answer)."""

    def apply(self, request: Request) -> Response | None:
        if self.mode in ("invalid_session", "busy"):
            if request.path.endswith("/login"):
                return None
            mode = self.take()
            if mode == "invalid_session":
                return json_response({"error_code": -1, "message": "invalid session", "result": []})
            if mode == "busy":
                return json_response({"error_code": 99, "message": "hệ thống đang bận, thử lại sau", "result": []})
            return None
        return super().apply(request)


class DvcqgSimulator(SimulatorApp):
    def __init__(self, options: dict | None = None) -> None:
        super().__init__(options)
        self.faults = DvcqgFaults()
        self.lock = threading.Lock()
        self.rng = random.Random(int(self.options.get("seed", 7)))
        self.username = str(self.options.get("username", "sandbox-lgsp"))
        self.password = str(self.options.get("password", "sandbox-password"))
        self.session_ttl = float(self.options.get("session_ttl", 600))
        self.success_code: Any = self.options.get("success_code", "random")
        self.catalogue = generate(int(self.options.get("catalogue_seed", 20231120)))
        self._reset_state()
        self.route("POST", "/login", self.login)
        self.route("POST", "/api", self.api)
        self.route("GET", "/_dossiers/<code>", self.inspect)
        self.route("GET", "/_dossiers", self.summary)
        self.route("POST", "/_dossiers", self.seed_dossiers)
        self.route("POST", "/_submissions", self.add_submissions)
        self.route("POST", "/_config", self.configure)
        self.route("POST", "/_reset", self.reset)
        self.route("GET", "/health", lambda request: json_response({"status": "up"}))
        self.services = {"TraCuuHoSo": self.tra_cuu, "DongBoHoSoMC": self.dong_bo, "CapNhatTienDoHoSoMC": self.tien_do,
                         "DongBoDanhGia": self.danh_gia, "LayDanhSachTTHC": self.ds_tthc, "LayThuTuc": self.thu_tuc,
                         "LayDVC": self.dvc, "LayDanhSachHoSoTrucTuyen": self.submissions,
                         "XacNhanHoSoTrucTuyen": self.ack_submissions}

    def _reset_state(self) -> None:
        self.sessions: dict[str, float] = {}
        self.logins = 0
        self.calls: dict[str, int] = {}
        self.dossiers: dict[str, dict[str, Any]] = {}
        self.history: dict[str, list[int]] = {}
        self.steps: dict[str, list[dict[str, Any]]] = {}
        self.evaluations: dict[str, list[dict[str, Any]]] = {}
        self.payments: dict[str, list[dict[str, Any]]] = {}
        self.queue: dict[str, dict[str, Any]] = {}
        self.submitted = 0

    # --- answers -------------------------------------------------------------------------------------
    def ok(self) -> Any:
        if self.success_code == "random":
            return self.rng.choice([0, "00"])
        return self.success_code

    def answer(self, code: Any, message: str, result: Any = None) -> Response:
        return json_response({"error_code": code, "message": message, "result": [] if result is None else result})

    def item(self, code: Any, message: str, mahoso: str | None) -> dict[str, Any]:
        return {"MaHoSo": mahoso or "", "error_code": code, "message": message}

    # --- session -------------------------------------------------------------------------------------
    def login(self, request: Request) -> Response:
        body = request.get_json(force=True, silent=True) or {}
        if body.get("username") != self.username or body.get("password") != self.password:
            return json_response({"error_code": 2, "message": "sai tên đăng nhập hoặc mật khẩu"})
        token = uuid.uuid4().hex
        with self.lock:
            self.sessions[token] = time.monotonic() + self.session_ttl
            self.logins += 1
        return json_response({"session": token, "error_code": self.ok(), "message": "thành công"})

    def api(self, request: Request) -> Response:
        if not request.headers.get("dstcode"):
            return self.answer(3, "thiếu header dstcode")
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            return self.answer(5, "dữ liệu không phải JSON object")
        with self.lock:
            expiry = self.sessions.get(str(body.get("session")))
            if expiry is None or expiry < time.monotonic():
                self.sessions.pop(str(body.get("session")), None)
                return self.answer(-1, "invalid session")
            service = body.get("service")
            handler = self.services.get(service)
            if handler is None:
                return self.answer(4, f"không có dịch vụ {service}")
            if not body.get("madonvi"):
                return self.answer(5, "thiếu madonvi")
            self.calls[service] = self.calls.get(service, 0) + 1
            return handler(body)

    # --- dossiers (callers hold self.lock) -----------------------------------------------------------
    def tra_cuu(self, body: dict[str, Any]) -> Response:
        code = body.get("mahoso")
        if not code:
            return self.answer(5, "thiếu mahoso")
        found = self.dossiers.get(code)
        return self.answer(self.ok(), "thành công", [found] if found else [])

    def dong_bo(self, body: dict[str, Any]) -> Response:
        updating = body.get("isUpdating")
        data = body.get("data")
        if updating not in ("True", "False"):
            return self.answer(5, 'isUpdating phải là "True" hoặc "False"')
        if not isinstance(data, list) or not data:
            return self.answer(5, "data phải là mảng hồ sơ")
        return self.answer(self.ok(), "thành công", [self._dossier(d, updating == "True") for d in data])

    def _dossier(self, item: Any, updating: bool) -> dict[str, Any]:
        problem = missing_or_bad(item, DOSSIER_REQUIRED, DOSSIER_DATES)
        code = item.get("MaHoSo") if isinstance(item, dict) else None
        if problem:
            return self.item(5, problem, code)
        try:
            status = int(item["TrangThaiHoSo"])
        except (TypeError, ValueError):
            status = 0
        if not 1 <= status <= 10:
            return self.item(5, "TrangThaiHoSo phải từ 1 đến 10", code)
        existing = self.dossiers.get(code)
        if existing is not None and not updating:
            return self.item(6, "hồ sơ đã tồn tại, gửi isUpdating \"True\"", code)
        if existing is None and updating:
            return self.item(7, "không tìm thấy hồ sơ để cập nhật", code)
        if existing is not None:
            before = int(existing["TrangThaiHoSo"])
            if status != before and status not in TRANSITIONS[before]:
                return self.item(8, f"không thể chuyển trạng thái từ {before} sang {status}", code)
        self.dossiers[code] = dict(item)
        if updating and item.get("MaThamChieuThanhToan"):
            self.payments.setdefault(code, []).append({k: v for k, v in item.items() if k.endswith("ThanhToan")})
        history = self.history.setdefault(code, [])
        if not history or history[-1] != status:
            history.append(status)
        return self.item(self.ok(), "thành công", code)

    def tien_do(self, body: dict[str, Any]) -> Response:
        data = body.get("data")
        if not isinstance(data, list) or not data:
            return self.answer(5, "data phải là mảng tiến độ")
        results = []
        for step in data:
            problem = missing_or_bad(step, STEP_REQUIRED, STEP_DATES)
            code = step.get("MaHoSo") if isinstance(step, dict) else None
            if problem:
                results.append(self.item(5, problem, code))
            elif code not in self.dossiers:
                results.append(self.item(7, "không tìm thấy hồ sơ", code))
            else:
                steps = self.steps.setdefault(code, [])
                if step not in steps:  # the same step sent again (a lost answer) is one step
                    steps.append(dict(step))
                results.append(self.item(self.ok(), "thành công", code))
        return self.answer(self.ok(), "thành công", results)

    def danh_gia(self, body: dict[str, Any]) -> Response:
        data = body.get("data")
        if not isinstance(data, list) or not data:
            return self.answer(5, "data phải là mảng đánh giá")
        results = []
        for ev in data:
            problem = missing_or_bad(ev, ("MaHoSo", "NgayDanhGia", "MucDoHaiLong"), ("NgayDanhGia",))
            code = ev.get("MaHoSo") if isinstance(ev, dict) else None
            if problem:
                results.append(self.item(5, problem, code))
            elif code not in self.dossiers:
                results.append(self.item(7, "không tìm thấy hồ sơ", code))
            else:
                kept = self.evaluations.setdefault(code, [])
                if ev not in kept:
                    kept.append(dict(ev))
                results.append(self.item(self.ok(), "thành công", code))
        return self.answer(self.ok(), "thành công", results)

    # --- CSDL TTHC -----------------------------------------------------------------------------------
    def ds_tthc(self, body: dict[str, Any]) -> Response:
        rows = [{"MATTHC": r["MATTHC"], "TENTTHC": r["TENTTHC"], "TRANGTHAI": r["TRANGTHAI"]}
                for r in self.catalogue.values()]
        return self.answer(self.ok(), "thành công", rows)

    def thu_tuc(self, body: dict[str, Any]) -> Response:
        record = self.catalogue.get(str(body.get("maTTHC", "")))
        if record is None:
            return self.answer(9, "không tìm thấy thủ tục")
        return self.answer(self.ok(), "thành công", [{k: v for k, v in record.items() if k != "APDUNGDVC"}])

    def dvc(self, body: dict[str, Any]) -> Response:
        record = self.catalogue.get(str(body.get("maTTHC", "")))
        if record is None:
            return self.answer(9, "không tìm thấy thủ tục")
        return self.answer(self.ok(), "thành công", [{"MATTHC": record["MATTHC"], "APDUNGDVC": record["APDUNGDVC"]}])

    # --- online submissions --------------------------------------------------------------------------
    def submissions(self, body: dict[str, Any]) -> Response:
        limit = int(body.get("soLuong") or 50)
        rows = list(self.queue.values())[:limit]
        return self.answer(self.ok(), "thành công", rows)

    def ack_submissions(self, body: dict[str, Any]) -> Response:
        codes = body.get("data") or []
        for code in codes:
            item = self.queue.pop(code, None)
            if item is not None:
                self.dossiers.setdefault(code, item)
                self.history.setdefault(code, [1])
        return self.answer(self.ok(), "thành công", [self.item(self.ok(), "thành công", c) for c in codes])

    def add_submissions(self, request: Request) -> Response:
        body = request.get_json(force=True, silent=True) or {}
        with self.lock:
            items = body.get("items") or [self._generated(body.get("agencies") or ["000.00.14.H20"], i)
                                          for i in range(int(body.get("count", 1)))]
            for item in items:
                self.queue[item["MaHoSo"]] = item
        return json_response({"queued": [i["MaHoSo"] for i in items]})

    def _generated(self, agencies: list[str], i: int) -> dict[str, Any]:
        record = self.catalogue["1.000894"]
        agency = agencies[i % len(agencies)]
        now = time.strftime("%Y%m%d%H%M%S", time.gmtime(time.time() + 7 * 3600))
        self.submitted += 1
        number = self.submitted
        return {"MaHoSo": f"{agency}-{now[2:8]}-{number % 10000:04d}", "MaTTHC": record["MATTHC"],
                "TenTTHC": record["TENTTHC"], "MaLinhVuc": "G09-HT", "TenLinhVuc": "Hộ tịch", "SoBienNhan": "",
                "ChuHoSo": "Phạm Thị Lan", "LoaiDoiTuong": "1", "MaDoiTuong": "001185012345", "ThongTinKhac": "",
                "Email": "", "Fax": "", "SoDienThoai": "0912345678", "TrichYeuHoSo": "Đăng ký kết hôn trực tuyến",
                "NgayTiepNhan": now, "NgayHenTra": "", "TrangThaiHoSo": "1", "NgayTra": "", "ThongTinTra": "",
                "HinhThuc": "0", "NgayKetThucXuLy": "", "DonViXuLy": agency, "GhiChu": "", "KenhThucHien": "2",
                "TaiLieuNop": [{"TepDinhKemId": f"dvcqg-{number}", "TenTepDinhKem": "To_khai.pdf", "IsDeleted": "False",
                                "MaThanhPhanHoSo": "GT-01",
                                "DuongDanTaiTepTin": f"https://dichvucong.gov.vn/p/home/files/{number}"}],
                "DanhSachLePhi": [], "DanhSachGiayToKetQua": [], "DanhSachHoSoBoSung": []}

    # --- inspection ----------------------------------------------------------------------------------
    def inspect(self, request: Request, code: str) -> Response:
        with self.lock:
            if code not in self.dossiers:
                return json_response({"error": "no such dossier"}, 404)
            return json_response({"dossier": self.dossiers[code], "status": int(self.dossiers[code]["TrangThaiHoSo"]),
                                  "history": self.history.get(code, []), "steps": self.steps.get(code, []),
                                  "evaluations": self.evaluations.get(code, []),
                                  "payments": self.payments.get(code, [])})

    def summary(self, request: Request) -> Response:
        with self.lock:
            return json_response({"dossiers": len(self.dossiers), "queued": len(self.queue), "logins": self.logins,
                                  "calls": dict(self.calls), "codes": sorted(self.dossiers),
                                  "payments": {c: len(p) for c, p in self.payments.items()}})

    def seed_dossiers(self, request: Request) -> Response:
        """Dossiers the portal already has (synced before the test), generated, at ``status`` (default 6, fee due)."""
        body = request.get_json(force=True, silent=True) or {}
        status = str(int(body.get("status", 6)))
        with self.lock:
            for i, code in enumerate(body.get("codes") or []):
                item = self._generated([code.split("-", 1)[0]], i)
                self.dossiers[code] = {**item, "MaHoSo": code, "TrangThaiHoSo": status}
                self.history[code] = [int(status)]
        return json_response({"seeded": len(body.get("codes") or [])})

    def configure(self, request: Request) -> Response:
        body = request.get_json(force=True, silent=True) or {}
        with self.lock:
            if "session_ttl" in body:
                self.session_ttl = float(body["session_ttl"])
            if "success_code" in body:
                self.success_code = body["success_code"]
            if body.get("expire_sessions"):
                self.sessions.clear()
        return json_response({"ok": True})

    def reset(self, request: Request) -> Response:
        with self.lock:
            self._reset_state()
        return json_response({"ok": True})


registry.simulators.register("dvcqg")(DvcqgSimulator)
