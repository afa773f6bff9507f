"""The dashboard's words: Vietnamese first (the staff who watch the hub all day), English on request."""
from __future__ import annotations

LANGS = ("vi", "en")
DEFAULT = "vi"

TEXT: dict[str, tuple[str, str]] = {   # key: (vi, en)
    "title": ("Giám sát LGSP", "LGSP monitoring"),
    "overview": ("Tổng quan", "Overview"),
    "search": ("Tra cứu", "Search"),
    "dead_letters": ("Thư lỗi", "Dead letters"),
    "audit": ("Nhật ký thao tác", "Audit log"),
    "logout": ("Đăng xuất", "Log out"),
    "login": ("Đăng nhập", "Log in"),
    "username": ("Tên đăng nhập", "User name"),
    "password": ("Mật khẩu", "Password"),
    "login_failed": ("Sai tên đăng nhập hoặc mật khẩu.", "Wrong user name or password."),
    "messages_per_minute": ("Thông điệp mỗi phút theo loại (60 phút qua)", "Messages per minute by type (last 60 min)"),
    "deliveries_per_minute": ("Lượt chuyển mỗi phút theo kết quả", "Deliveries per minute by outcome"),
    "queues": ("Hàng đợi theo kết nối", "Queues per connector"),
    "connector": ("Kết nối", "Connector"),
    "waiting": ("Đang chờ", "Waiting"),
    "retrying": ("Chờ gửi lại", "Retrying"),
    "failed": ("Thư lỗi", "Dead"),
    "delivered": ("Đã chuyển", "Delivered"),
    "health": ("Tình trạng", "Health"),
    "latency": ("Độ trễ", "Latency"),
    "certificates": ("Chứng thư số sắp hết hạn", "Certificates expiring"),
    "days_left": ("Số ngày còn lại", "Days left"),
    "no_certificates": ("Không có chứng thư số nào được cấu hình.", "No certificates configured."),
    "message_id": ("Mã thông điệp", "Message id"),
    "dossier": ("Mã hồ sơ", "Dossier code"),
    "type": ("Loại", "Type"),
    "source": ("Nguồn", "Source"),
    "state": ("Trạng thái", "State"),
    "from": ("Từ", "From"),
    "to": ("Đến", "To"),
    "any": ("(tất cả)", "(any)"),
    "find": ("Tìm", "Find"),
    "accepted_at": ("Thời điểm nhận", "Accepted at"),
    "no_results": ("Không có kết quả.", "No results."),
    "timeline": ("Dòng thời gian", "Timeline"),
    "deliveries": ("Lượt chuyển", "Deliveries"),
    "attempts": ("Số lần thử", "Attempts"),
    "reason": ("Lý do", "Reason"),
    "payload": ("Nội dung (đã che dữ liệu cá nhân)", "Payload (personal data masked)"),
    "related": ("Thông điệp cùng hồ sơ", "Messages of the same dossier"),
    "duration": ("Thời lượng", "Duration"),
    "step": ("Bước", "Step"),
    "at": ("Lúc", "At"),
    "code": ("Mã lỗi", "Code"),
    "count": ("Số lượng", "Count"),
    "last_seen": ("Gần nhất", "Last"),
    "replay": ("Gửi lại", "Replay"),
    "replay_selected": ("Gửi lại các mục đã chọn", "Replay selected"),
    "replay_filter": ("Gửi lại tất cả theo bộ lọc", "Replay all matching the filter"),
    "confirm_replay": ("Xác nhận gửi lại {n} lượt chuyển?", "Replay {n} deliveries?"),
    "confirm": ("Xác nhận", "Confirm"),
    "cancel": ("Huỷ", "Cancel"),
    "replayed": ("Đã đưa {n} lượt chuyển vào hàng đợi gửi lại.", "{n} deliveries queued for replay."),
    "nothing_selected": ("Chưa chọn mục nào.", "Nothing selected."),
    "forbidden": ("Tài khoản của bạn không có quyền này.", "Your account may not do this."),
    "bad_csrf": ("Phiên làm việc đã hết hạn, hãy thử lại.", "The form expired; please try again."),
    "filter": ("Lọc", "Filter"),
    "actor": ("Người thực hiện", "Actor"),
    "action": ("Thao tác", "Action"),
    "target": ("Đối tượng", "Target"),
    "detail": ("Chi tiết", "Detail"),
    "not_found": ("Không tìm thấy thông điệp.", "Message not found."),
    "role": ("Vai trò", "Role"),
    "store": ("Cơ sở dữ liệu", "Store"),
    "bus": ("Hàng đợi thông điệp", "Bus"),
    "signing": ("Ký số", "Signing"),
    "select_all": ("Chọn tất cả", "Select all"),
    "route": ("Tuyến", "Route"),
    "throughput": ("Thông lượng", "Throughput"),
    "p50": ("trung vị", "median"),
}


def pick(lang: str | None) -> str:
    return lang if lang in LANGS else DEFAULT


def translator(lang: str):  # noqa: ANN201 - a callable for the templates
    index = LANGS.index(pick(lang))

    def t(key: str, **values: object) -> str:
        text = TEXT[key][index] if key in TEXT else key
        return text.format(**values) if values else text
    return t
