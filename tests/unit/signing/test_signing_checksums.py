"""Partner checksums: known-answer vectors computed here from the literal canonical strings of partners.md
section 4 (so a change of field order, encoding or separator breaks them), round trips and rejections."""
from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import quote_plus

import pytest

from hub.signing import checksums
from hub.signing.errors import SignatureError

VNP_SECRET = "VNPAYSANDBOXSECRET"
MOMO_ACCESS, MOMO_SECRET = "momoAccessDemo", "momoSecretDemo"
PAYGOV_SECRET, PAYGOV_PARTNER = "paygovSecretDemo", "DTC01"


def code(fn, *args) -> str:
    with pytest.raises(SignatureError) as exc:
        fn(*args)
    return exc.value.code


# --- VNPay ---------------------------------------------------------------------------------------

VNP_PARAMS = {
    "vnp_Version": "2.1.0", "vnp_Command": "pay", "vnp_TmnCode": "DEMO0001", "vnp_Amount": "15000000",
    "vnp_CurrCode": "VND", "vnp_TxnRef": "000.00.14.H20-200703-0002", "vnp_OrderInfo": "Thanh toan le phi ho so",
    "vnp_OrderType": "other", "vnp_Locale": "vn", "vnp_ReturnUrl": "https://hub.example/return?a=1",
    "vnp_IpAddr": "127.0.0.1", "vnp_CreateDate": "20240101120000", "vnp_BankCode": "",
}
VNP_CANONICAL = ("vnp_Amount=15000000&vnp_Command=pay&vnp_CreateDate=20240101120000&vnp_CurrCode=VND"
                 "&vnp_IpAddr=127.0.0.1&vnp_Locale=vn&vnp_OrderInfo=Thanh+toan+le+phi+ho+so&vnp_OrderType=other"
                 "&vnp_ReturnUrl=https%3A%2F%2Fhub.example%2Freturn%3Fa%3D1&vnp_TmnCode=DEMO0001"
                 "&vnp_TxnRef=000.00.14.H20-200703-0002&vnp_Version=2.1.0")
VNP_EXPECTED = hmac.new(VNP_SECRET.encode(), VNP_CANONICAL.encode(), hashlib.sha512).hexdigest()


def test_vnpay_known_answer() -> None:
    assert checksums.vnpay_canonical(VNP_PARAMS) == VNP_CANONICAL
    assert checksums.vnpay_sign(VNP_PARAMS, VNP_SECRET) == VNP_EXPECTED
    assert len(VNP_EXPECTED) == 128 and VNP_EXPECTED == VNP_EXPECTED.lower()


def vnpay_ipn(params: dict[str, str], secure_hash: str) -> str:
    """The query string as VNPay sends it: its own order, spaces as %20, the hash last."""
    items = [*params.items(), ("vnp_SecureHashType", "HmacSHA512"), ("vnp_SecureHash", secure_hash)]
    return "&".join(f"{k}={quote_plus(v).replace('+', '%20')}" for k, v in reversed(items))


IPN = {"vnp_Amount": "15000000", "vnp_BankCode": "NCB", "vnp_BankTranNo": "", "vnp_OrderInfo": "Thanh toan le phi",
       "vnp_ResponseCode": "00", "vnp_TmnCode": "DEMO0001", "vnp_TransactionNo": "14226112",
       "vnp_TransactionStatus": "00", "vnp_TxnRef": "000.00.14.H20-200703-0002"}
IPN_CANONICAL = ("vnp_Amount=15000000&vnp_BankCode=NCB&vnp_OrderInfo=Thanh+toan+le+phi&vnp_ResponseCode=00"
                 "&vnp_TmnCode=DEMO0001&vnp_TransactionNo=14226112&vnp_TransactionStatus=00"
                 "&vnp_TxnRef=000.00.14.H20-200703-0002")
IPN_HASH = hmac.new(VNP_SECRET.encode(), IPN_CANONICAL.encode(), hashlib.sha512).hexdigest()


def test_vnpay_ipn_verified_over_raw_query() -> None:
    params = checksums.vnpay_verify_query(vnpay_ipn(IPN, IPN_HASH), VNP_SECRET)
    assert params["vnp_ResponseCode"] == "00" and params["vnp_OrderInfo"] == "Thanh toan le phi"
    assert checksums.vnpay_verify_query("?" + vnpay_ipn(IPN, IPN_HASH.upper()), VNP_SECRET)   # upper-case hex


def test_vnpay_ipn_rejections() -> None:
    tampered = vnpay_ipn({**IPN, "vnp_Amount": "1500000000"}, IPN_HASH)
    assert code(checksums.vnpay_verify_query, tampered, VNP_SECRET) == "checksum.mismatch"
    assert code(checksums.vnpay_verify_query, vnpay_ipn(IPN, IPN_HASH), "other-secret") == "checksum.mismatch"
    assert code(checksums.vnpay_verify_query, vnpay_ipn(IPN, IPN_HASH[:-2]), VNP_SECRET) == "checksum.malformed"
    assert code(checksums.vnpay_verify_query, vnpay_ipn(IPN, IPN_HASH[:-1] + "g"), VNP_SECRET) == "checksum.malformed"
    assert code(checksums.vnpay_verify_query, vnpay_ipn(IPN, ""), VNP_SECRET) == "checksum.missing"
    doubled = vnpay_ipn(IPN, IPN_HASH) + "&vnp_Amount=1"
    assert code(checksums.vnpay_verify_query, doubled, VNP_SECRET) == "signature.malformed"


def test_vnpay_non_vnp_parameter_is_not_signed_but_ignored() -> None:
    extra = vnpay_ipn(IPN, IPN_HASH) + "&utm_source=x"
    assert checksums.vnpay_verify_query(extra, VNP_SECRET)["utm_source"] == "x"


# --- MoMo ----------------------------------------------------------------------------------------

MOMO_CREATE = {"partnerCode": "MOMO", "requestId": "req-1", "amount": 150000, "orderId": "000.00.14.H20-200703-0002",
               "orderInfo": "Le phi ho so", "redirectUrl": "https://hub.example/return",
               "ipnUrl": "https://hub.example/v1/inbound/momo", "requestType": "captureWallet", "extraData": "",
               "lang": "vi"}
MOMO_CREATE_CANONICAL = ("accessKey=momoAccessDemo&amount=150000&extraData=&ipnUrl=https://hub.example/v1/inbound/momo"
                         "&orderId=000.00.14.H20-200703-0002&orderInfo=Le phi ho so&partnerCode=MOMO"
                         "&redirectUrl=https://hub.example/return&requestId=req-1&requestType=captureWallet")


def test_momo_create_known_answer() -> None:
    expected = hmac.new(MOMO_SECRET.encode(), MOMO_CREATE_CANONICAL.encode(), hashlib.sha256).hexdigest()
    assert checksums.momo_sign_create(MOMO_CREATE, MOMO_ACCESS, MOMO_SECRET) == expected


MOMO_IPN_BODY = (b'{"partnerCode":"MOMO","orderId":"000.00.14.H20-200703-0002","requestId":"req-1","amount":150000,'
                 b'"orderInfo":"Le phi ho so","orderType":"momo_wallet","transId":4088878653,"resultCode":0,'
                 b'"message":"Successful.","payType":"qr","responseTime":1700000000000,"extraData":"",')
MOMO_IPN_CANONICAL = ("accessKey=momoAccessDemo&amount=150000&extraData=&message=Successful."
                      "&orderId=000.00.14.H20-200703-0002&orderInfo=Le phi ho so&orderType=momo_wallet&partnerCode=MOMO"
                      "&payType=qr&requestId=req-1&responseTime=1700000000000&resultCode=0&transId=4088878653")
MOMO_IPN_SIG = hmac.new(MOMO_SECRET.encode(), MOMO_IPN_CANONICAL.encode(), hashlib.sha256).hexdigest()


def momo_body(signature: str, body: bytes = MOMO_IPN_BODY) -> bytes:
    return body + b'"signature":"' + signature.encode() + b'"}'


def test_momo_ipn_known_answer_and_verify() -> None:
    parsed = json.loads(momo_body(MOMO_IPN_SIG))
    assert checksums.momo_sign_ipn(parsed, MOMO_ACCESS, MOMO_SECRET) == MOMO_IPN_SIG
    ipn = checksums.momo_verify_ipn(momo_body(MOMO_IPN_SIG), MOMO_ACCESS, MOMO_SECRET)
    assert ipn["resultCode"] == 0 and ipn["amount"] == 150000


def test_momo_ipn_rejections() -> None:
    wrong_amount = MOMO_IPN_BODY.replace(b'"amount":150000', b'"amount":1500000')
    assert code(checksums.momo_verify_ipn, momo_body(MOMO_IPN_SIG, wrong_amount), MOMO_ACCESS, MOMO_SECRET) \
        == "checksum.mismatch"
    # same number, other spelling: the partner hashed the text it sent, so this is not what was signed
    respelled = MOMO_IPN_BODY.replace(b'"amount":150000', b'"amount":150000.0')
    assert code(checksums.momo_verify_ipn, momo_body(MOMO_IPN_SIG, respelled), MOMO_ACCESS, MOMO_SECRET) \
        == "checksum.mismatch"
    assert code(checksums.momo_verify_ipn, momo_body(MOMO_IPN_SIG), "otherAccess", MOMO_SECRET) == "checksum.mismatch"
    assert code(checksums.momo_verify_ipn, momo_body(MOMO_IPN_SIG[:40]), MOMO_ACCESS, MOMO_SECRET) == "checksum.malformed"
    assert code(checksums.momo_verify_ipn, momo_body("z" * 64), MOMO_ACCESS, MOMO_SECRET) == "checksum.malformed"
    dup = MOMO_IPN_BODY + b'"amount":1,'
    assert code(checksums.momo_verify_ipn, momo_body(MOMO_IPN_SIG, dup), MOMO_ACCESS, MOMO_SECRET) == "signature.malformed"
    missing = MOMO_IPN_BODY.replace(b'"transId":4088878653,', b"")
    assert code(checksums.momo_verify_ipn, momo_body(MOMO_IPN_SIG, missing), MOMO_ACCESS, MOMO_SECRET) \
        == "signature.malformed"
    assert code(checksums.momo_verify_ipn, b"\xff\xfe", MOMO_ACCESS, MOMO_SECRET) == "signature.malformed"


# --- PayGov --------------------------------------------------------------------------------------

PAYGOV_REQUEST = {"LoaiBanTin": "PAY", "PhienBan": "1.0.0", "MaDoiTac": "DTC01", "MaThamChieu": "HS2007030002",
                  "SoTien": 150000, "LoaiHinhThanhToan": "01", "MaKenhThanhToan": "WEB", "MaThietBi": "",
                  "NgonNgu": "vi", "MaTienTe": "VND", "MaNganHang": "", "ThongTinGiaoDich": "Le phi ho so",
                  "ThoiGianGD": "20240101120000", "Ip": "127.0.0.1", "ThongTinBienLai": {"MaHoSo": "x"}}
PAYGOV_REQUEST_CANONICAL = "PAY|1.0.0|DTC01|HS2007030002|150000|01|WEB||vi|VND||Le phi ho so|20240101120000|127.0.0.1|paygovSecretDemo"


def test_paygov_request_known_answer() -> None:
    expected = hashlib.sha256(PAYGOV_REQUEST_CANONICAL.encode()).hexdigest()
    assert checksums.paygov_sign_request(PAYGOV_REQUEST, PAYGOV_SECRET) == expected


PAYGOV_CALLBACK = (b'{"LoaiBanTin":"RESULT","MaLoi":"00","MaThamChieu":"HS2007030002","SoTien":150000,"MaTienTe":"VND",'
                   b'"MaGiaoDich":"GD123","MaNganHang":"NCB","ThoiGianGD":"20240101120500","ThongTinGiaoDich":"Le phi",')
PAYGOV_CALLBACK_CANONICAL = "RESULT|00|DTC01|HS2007030002|150000|VND|GD123|NCB|20240101120500|Le phi|paygovSecretDemo"
PAYGOV_CALLBACK_SUM = hashlib.sha256(PAYGOV_CALLBACK_CANONICAL.encode()).hexdigest()


def paygov_body(checksum: str, body: bytes = PAYGOV_CALLBACK) -> bytes:
    return body + b'"MaXacThuc":"' + checksum.encode() + b'"}'


def test_paygov_callback_known_answer_and_verify() -> None:
    parsed = checksums.paygov_verify_callback(paygov_body(PAYGOV_CALLBACK_SUM), PAYGOV_SECRET, PAYGOV_PARTNER)
    assert parsed["MaLoi"] == "00" and parsed["SoTien"] == 150000
    assert checksums.paygov_sign_callback(parsed, PAYGOV_SECRET, PAYGOV_PARTNER) == PAYGOV_CALLBACK_SUM


def test_paygov_callback_rejections() -> None:
    paid_less = PAYGOV_CALLBACK.replace(b'"SoTien":150000', b'"SoTien":1500')
    assert code(checksums.paygov_verify_callback, paygov_body(PAYGOV_CALLBACK_SUM, paid_less), PAYGOV_SECRET,
                PAYGOV_PARTNER) == "checksum.mismatch"
    assert code(checksums.paygov_verify_callback, paygov_body(PAYGOV_CALLBACK_SUM), PAYGOV_SECRET, "DTC02") \
        == "checksum.mismatch"
    other_partner = PAYGOV_CALLBACK.replace(b'{', b'{"MaDoiTac":"DTC99",', 1)
    assert code(checksums.paygov_verify_callback, paygov_body(PAYGOV_CALLBACK_SUM, other_partner), PAYGOV_SECRET,
                PAYGOV_PARTNER) == "checksum.mismatch"
    assert code(checksums.paygov_verify_callback, paygov_body(PAYGOV_CALLBACK_SUM + "00"), PAYGOV_SECRET,
                PAYGOV_PARTNER) == "checksum.malformed"
    assert code(checksums.paygov_verify_callback, PAYGOV_CALLBACK[:-1] + b"}", PAYGOV_SECRET, PAYGOV_PARTNER) \
        == "checksum.missing"
    assert code(checksums.paygov_verify_callback, b"[1]", PAYGOV_SECRET, PAYGOV_PARTNER) == "signature.malformed"
