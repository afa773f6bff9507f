"""A seeded synthetic population for the resident database simulator: same seed, same people, every run.

Every citizen has a valid 12-digit personal id (province of birth registration, century/gender digit
consistent with the birth date, 2-digit year, 6 unique digits), a Vietnamese name with diacritics, a birth
date and addresses with administrative codes. People born before 1995 also carry an old 9-digit CMND.
Nothing here is a real person: the names are drawn from common name parts at random.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from hub.formats import PROVINCE_CODES

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ",
          "Ngô", "Dương", "Lý", "Đinh", "Trương", "Lâm", "Mai", "Tô", "Châu", "Quách", "Lương"]
MIDDLE_MALE = ["Văn", "Hữu", "Đức", "Minh", "Quốc", "Thành", "Công", "Xuân", "Anh", "Trọng", "Gia", "Hoàng"]
MIDDLE_FEMALE = ["Thị", "Ngọc", "Thu", "Thanh", "Kim", "Mỹ", "Bích", "Hồng", "Phương", "Diệu", "Khánh", "Minh"]
GIVEN_MALE = ["Anh", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hiếu", "Hoàng", "Hùng", "Huy", "Khang", "Khoa", "Long",
              "Lộc", "Minh", "Nam", "Nghĩa", "Phúc", "Quân", "Quang", "Sơn", "Tài", "Thắng", "Thịnh", "Toàn", "Trí",
              "Trung", "Tuấn", "Việt", "Vinh"]
GIVEN_FEMALE = ["An", "Anh", "Ánh", "Châu", "Chi", "Diễm", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa",
                "Hương", "Lan", "Linh", "Loan", "Mai", "My", "Nga", "Ngân", "Nhung", "Oanh", "Phượng", "Quỳnh",
                "Thảo", "Thủy", "Trang", "Uyên", "Yến"]
STREETS = ["Lê Lợi", "Trần Hưng Đạo", "Nguyễn Huệ", "Hai Bà Trưng", "Lý Thường Kiệt", "Phan Chu Trinh",
           "Quang Trung", "Hùng Vương", "Nguyễn Trãi", "Điện Biên Phủ", "Bạch Đằng", "Võ Thị Sáu"]
ETHNICITIES = ["Kinh"] * 17 + ["Tày", "Thái", "Mường", "Khmer", "Hoa", "Nùng", "H'Mông", "Chăm"]
RELIGIONS = ["Không"] * 6 + ["Phật giáo", "Công giáo", "Cao Đài", "Hòa Hảo", "Tin Lành"]
BLOOD = ["O", "A", "B", "AB"]


@dataclass(frozen=True)
class Address:
    province: str
    district: str
    commune: str
    detail: str
    country: str = "VN"


@dataclass(frozen=True)
class Citizen:
    personal_id: str
    cmnd: str | None
    family: str
    middle: str
    given: str
    gender: int                     # 1 male, 2 female (GioiTinh)
    birth: dt.date
    ethnicity: str
    religion: str
    marital: str
    blood: str
    birth_place: Address
    home_town: Address
    permanent: Address
    current: Address
    father: str
    mother: str
    spouse: str | None = None
    household_head: str | None = None

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.family, self.middle, self.given) if p)


def _address(rng: random.Random, province: str) -> Address:
    district = f"{rng.randint(1, 999):03d}"
    commune = f"{rng.randint(1, 32000):05d}"
    detail = f"Số {rng.randint(1, 300)}, đường {rng.choice(STREETS)}, {PROVINCE_CODES[province]}"
    return Address(province, district, commune, detail)


def _name(rng: random.Random, male: bool) -> tuple[str, str, str]:
    return (rng.choice(FAMILY), rng.choice(MIDDLE_MALE if male else MIDDLE_FEMALE),
            rng.choice(GIVEN_MALE if male else GIVEN_FEMALE))


def generate(count: int = 10_000, seed: int = 20240101) -> list[Citizen]:
    rng = random.Random(seed)
    provinces = sorted(PROVINCE_CODES)
    used_ids: set[str] = set()
    used_cmnd: set[str] = set()
    people: list[Citizen] = []
    start, span = dt.date(1940, 1, 1).toordinal(), (dt.date(2015, 12, 31) - dt.date(1940, 1, 1)).days
    while len(people) < count:
        male = rng.random() < 0.5
        birth = dt.date.fromordinal(start + rng.randint(0, span))
        province = rng.choice(provinces)
        century_digit = (birth.year // 100 - 19) * 2 + (0 if male else 1)
        pid = f"{province}{century_digit}{birth.year % 100:02d}{rng.randint(0, 999_999):06d}"
        if pid in used_ids:
            continue
        used_ids.add(pid)
        cmnd = None
        if birth.year < 1995:
            cmnd = f"{rng.randint(10_000_000, 399_999_999):09d}"
            if cmnd in used_cmnd:
                cmnd = None
            else:
                used_cmnd.add(cmnd)
        family, middle, given = _name(rng, male)
        home = _address(rng, province)
        permanent = _address(rng, rng.choice(provinces))
        adult = birth.year < 1998
        spouse = " ".join(_name(rng, not male)) if adult and rng.random() < 0.6 else None
        people.append(Citizen(
            personal_id=pid, cmnd=cmnd, family=family, middle=middle, given=given, gender=1 if male else 2,
            birth=birth, ethnicity=rng.choice(ETHNICITIES), religion=rng.choice(RELIGIONS),
            marital="Đã kết hôn" if spouse else "Chưa kết hôn", blood=rng.choice(BLOOD),
            birth_place=home, home_town=home, permanent=permanent,
            current=permanent if rng.random() < 0.8 else _address(rng, rng.choice(provinces)),
            father=f"{family} {rng.choice(MIDDLE_MALE)} {rng.choice(GIVEN_MALE)}",
            mother=" ".join(_name(rng, False)), spouse=spouse,
            household_head=None if adult else f"{family} {rng.choice(MIDDLE_MALE)} {rng.choice(GIVEN_MALE)}"))
    return people
