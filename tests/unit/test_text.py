"""ASCII folding and SMS sizing (GSM-7 160/153, UCS-2 70/67)."""
from hub.text import sms_segments, strip_diacritics


def test_strip_diacritics_keeps_the_letters():
    assert strip_diacritics("Nguyễn Thị Hồng Nhung, Đồng Tháp") == "Nguyen Thi Hong Nhung, Dong Thap"


def test_gsm7_sizes():
    assert sms_segments("a" * 160) == ("gsm7", 1)
    assert sms_segments("a" * 161) == ("gsm7", 2)
    assert sms_segments("a" * 306) == ("gsm7", 2) and sms_segments("a" * 307) == ("gsm7", 3)
    assert sms_segments("{" * 80) == ("gsm7", 1) and sms_segments("{" * 81) == ("gsm7", 2)   # extension chars count twice


def test_ucs2_sizes():
    assert sms_segments("ồ" * 70) == ("ucs2", 1)
    assert sms_segments("ồ" * 71) == ("ucs2", 2)
    assert sms_segments("ồ" * 134) == ("ucs2", 2) and sms_segments("ồ" * 135) == ("ucs2", 3)
