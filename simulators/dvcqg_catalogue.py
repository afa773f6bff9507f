"""The CSDL TTHC catalogue the DVCQG simulator serves: ≥200 procedures generated from a fixed seed.

Records use the national database's keys (partners.md §2). A few anchor records match the canonical
fixtures (tests/fixtures/messages/) so that examples pass ``check_procedure``; the rest are generated:
same seed, same catalogue, on every machine. About one in fifteen is inactive (TRANGTHAI 0).
"""
from __future__ import annotations

import random
from typing import Any

SEED = 20231120
SIZE = 240

SECTORS = [("G09-HT", "Hộ tịch"), ("G09-CT", "Chứng thực"), ("G12-DD", "Đất đai"), ("G06-XD", "Xây dựng"),
           ("G10-KD", "Thành lập và hoạt động doanh nghiệp"), ("G14-LD", "Lao động"), ("G15-YT", "Y tế"),
           ("G13-GD", "Giáo dục và Đào tạo"), ("G16-TN", "Tài nguyên nước"), ("G17-GT", "Đường bộ")]
ACTS = ["Cấp giấy phép", "Đăng ký", "Cấp lại giấy chứng nhận", "Điều chỉnh", "Gia hạn", "Xác nhận",
        "Thu hồi", "Cấp bản sao", "Thay đổi thông tin", "Cấp đổi"]
OBJECTS = ["khai sinh", "kết hôn", "khai tử", "hộ kinh doanh", "xây dựng nhà ở riêng lẻ", "quyền sử dụng đất",
           "hành nghề khám bệnh", "hoạt động giáo dục", "khai thác nước mặt", "vận tải hàng hóa", "lao động nước ngoài",
           "chữ ký", "nuôi con nuôi", "giám hộ", "thay đổi hộ tịch"]
DOCUMENTS = ["Tờ khai theo mẫu", "Bản sao giấy tờ tùy thân", "Giấy ủy quyền (nếu có)", "Sơ đồ vị trí",
             "Bản vẽ thiết kế", "Giấy chứng nhận đủ điều kiện", "Văn bản đề nghị", "Hợp đồng thuê (nếu có)"]
AGENCIES = ["000.00.14.H20", "000.00.15.H20", "000.00.00.H20", "000.00.31.H48", "000.00.01.H48"]


def anchors() -> list[dict[str, Any]]:
    """Records the fixtures and golden files refer to."""
    return [
        record("1.000894", "Đăng ký kết hôn", ("G09-HT", "Hộ tịch"), fees=[("LP-KH", 0, "Miễn lệ phí")],
               documents=[("GT-01", "Tờ khai đăng ký kết hôn")], agencies=["000.00.14.H20"], level="full"),
        record("1.001612.000.00.00.H20", "Đăng ký khai sinh kết hợp đăng ký thường trú, cấp thẻ bảo hiểm y tế cho "
               "trẻ em dưới 6 tuổi", ("G09-HT", "Hộ tịch"), fees=[("LP-HT-01", 15000, "Lệ phí đăng ký hộ tịch")],
               documents=[("TP01", "Tờ khai đăng ký khai sinh"), ("TP02", "Giấy chứng sinh"),
                          ("TP03", "Văn bản ủy quyền (nếu có)")], agencies=["000.00.14.H20"], level="full"),
    ]


def record(code: str, name: str, sector: tuple[str, str], *, fees: list[tuple[str, int, str]],
           documents: list[tuple[str, str]], agencies: list[str], active: bool = True, days: int = 3,
           level: str = "partial") -> dict[str, Any]:
    phi = [{"MAPHILEPHI": c, "SOTIEN": str(amount), "DONVI": "Đồng", "MOTA": mota} for c, amount, mota in fees]
    return {
        "MATTHC": code, "TENTTHC": name,
        "LINHVUCTHUCHIEN": [{"MALINHVUC": sector[0], "TENLINHVUC": sector[1]}],
        "MACOQUANCONGBO": sector[0].split("-")[0],
        "TRINHTUTHUCHIEN": "Bước 1: Nộp hồ sơ. Bước 2: Tiếp nhận, kiểm tra. Bước 3: Giải quyết và trả kết quả.",
        "CACHTHUCTHUCHIEN": [{"KENH": str(kenh), "THOIGIAN": [{"THOIGIANGIAIQUYET": str(days),
                                                               "DONVITINH": "Ngày làm việc", "MOTA": "",
                                                               "PHILEPHI": phi}]} for kenh in (1, 2, 3)],
        "THANHPHANHOSO": [{"GIAYTO": [{"MAGIAYTO": c, "TENGIAYTO": n, "TENMAUDON": f"Mẫu {c}",
                                       "URL": f"https://csdl.dichvucong.gov.vn/mau/{code}/{c}.docx"}
                                      for c, n in documents]}],
        "YEUCAU": "Không", "KETQUATHUCHIEN": f"Kết quả: {name}", "CANCUPHAPLY": "Nghị định 61/2018/NĐ-CP",
        "TRANGTHAI": "1" if active else "0",
        "COQUANTHUCHIEN": [{"MADONVI": a, "TENDONVI": f"Cơ quan {a}"} for a in agencies],
        "APDUNGDVC": [{"MACOQUANTHUCHIEN": a, "MUCDO": "Toàn trình" if level == "full" else "Một phần"}
                      for a in agencies],
    }


def generate(seed: int = SEED, size: int = SIZE) -> dict[str, dict[str, Any]]:
    rng = random.Random(seed)
    catalogue = {r["MATTHC"]: r for r in anchors()}
    number = 1000
    while len(catalogue) < size:
        number += rng.randint(1, 40)
        code = f"{rng.choice('123')}.{number:06d}"
        if rng.random() < 0.2:
            code += f".000.00.00.H{rng.choice(['20', '48'])}"
        sector = rng.choice(SECTORS)
        name = f"{rng.choice(ACTS)} {rng.choice(OBJECTS)}"
        fees = [(f"LP-{number}-{i}", rng.choice([0, 10000, 15000, 20000, 50000, 100000, 200000]),
                 rng.choice(["Lệ phí", "Phí thẩm định"])) for i in range(1, rng.randint(1, 2) + 1)]
        docs = rng.sample(DOCUMENTS, rng.randint(1, 4))
        documents = [(f"TP{i:02d}", n) for i, n in enumerate(docs, 1)]
        catalogue[code] = record(code, name, sector, fees=fees, documents=documents,
                                 agencies=rng.sample(AGENCIES, rng.randint(1, 3)), active=rng.random() > 1 / 15,
                                 days=rng.choice([1, 3, 5, 7, 10, 15, 20]), level=rng.choice(["partial", "full"]))
    return catalogue
