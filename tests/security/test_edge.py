"""Families 1, 2, 6, 7, 8 of reliability.md against a running hub: each refusal has its code, nothing is stored,
nothing reaches a partner, nothing leaks in the response."""
from __future__ import annotations

import base64
import gzip
import json
import socket
import unicodedata
import uuid
import zlib
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from tests.security.conftest import (CITIZEN_ID, NARROW_TOKEN, PHONE, assert_clean_text, assert_refused, auth,
                                     post_raw)


def ping(text: str = "x", **extra) -> bytes:
    return json.dumps({"id": f"sec-{uuid.uuid4().hex[:10]}", "type": "demo.ping", "payload": {"text": text},
                       **extra}, ensure_ascii=False).encode()


# --- family 1: size and encoding -------------------------------------------------------------------------
SIZE_AND_ENCODING = [
    ("oversized with content-length", b'{"type":"demo.ping","payload":{"text":"' + b"a" * 1_100_000 + b'"}}', {},
     413, "request.too_large"),
    ("gzip bomb", gzip.compress(b'{"type":"demo.ping","payload":{"text":"' + b"a" * 6_000_000 + b'"}}'),
     {"Content-Encoding": "gzip"}, 413, "request.too_large"),
    ("deflate bomb", zlib.compress(b" " * 5_000_000 + b"{}"), {"Content-Encoding": "deflate"}, 413, "request.too_large"),
    ("unknown encoding", b"{}", {"Content-Encoding": "br"}, 415, "request.unsupported_encoding"),
    ("gzip header, garbage body", b"not gzip at all", {"Content-Encoding": "gzip"}, 415, "request.unsupported_encoding"),
    ("invalid utf-8", b'{"type": "demo.ping", "payload": {"text": "\xff\xfe"}}', {}, 400, "request.malformed_json"),
    ("windows-1258 bytes", "{\"type\": \"demo.ping\", \"payload\": {\"text\": \"Vi\u1ec7t\"}}".encode("cp1258", "replace")
     .replace(b"?", b"\xd2"), {}, 400, "request.malformed_json"),
    ("legacy charset declared", ping(), {"Content-Type": "application/json; charset=windows-1258"}, 415,
     "request.unsupported_encoding"),
    ("utf-8 BOM", b"\xef\xbb\xbf" + ping(), {}, 400, "request.malformed_json"),
    ("raw NUL", b'{"type": "demo.ping", "payload": {"text": "a\x00b"}}', {}, 400, "request.control_character"),
    ("escaped NUL", ping("a\u0000b"), {}, 400, "request.control_character"),
    ("escaped bell", ping("a\u0007b"), {}, 400, "request.control_character"),
    ("escaped DEL", ping("a\u007fb"), {}, 400, "request.control_character"),
    ("lone surrogate", b'{"type": "demo.ping", "payload": {"text": "\\ud800"}}', {}, 400, "request.control_character"),
    ("text/plain", ping(), {"Content-Type": "text/plain"}, 415, "request.unsupported_media_type"),
    ("xml to the json api", b"<?xml version='1.0'?><a/>", {"Content-Type": "application/xml"}, 415,
     "request.unsupported_media_type"),
]


@pytest.mark.parametrize("name,body,headers,status,code", SIZE_AND_ENCODING, ids=[c[0] for c in SIZE_AND_ENCODING])
def test_size_and_encoding(hub, watch, name, body, headers, status, code):
    with watch():
        assert_refused(post_raw(hub, body, headers), status, code)


def test_chunked_body_over_the_limit_is_refused(hub, watch):
    def chunks():
        yield b'{"type":"demo.ping","payload":{"text":"'
        for _ in range(40):
            yield b"a" * 32_768
        yield b'"}}'
    with watch():
        r = requests.post(hub.url + "/v1/messages", data=chunks(), headers=auth(), timeout=30)
        assert r.status_code in (400, 413), r.text
        assert r.json()["code"] in ("request.too_large", "request.malformed_json")
        assert_clean_text(r.text)


def test_lying_content_length_never_reads_past_the_limit(hub, watch):
    """Content-Length says 10 bytes, the client sends 2 MB: the hub reads 10, never more, and refuses the JSON."""
    url = urlparse(hub.url)
    with watch():
        with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
            head = (f"POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sandbox-demo-token\r\n"
                    f"Content-Type: application/json\r\nContent-Length: 10\r\nConnection: close\r\n\r\n").encode()
            sock.sendall(head + b'{"type":"d' + b"a" * 2048)
            answer = b""
            try:
                while chunk := sock.recv(65_536):
                    answer += chunk
            except ConnectionResetError:   # the hub closed with the rest unread: what it must do
                pass
        if answer:
            assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
            assert b"request.malformed_json" in answer


def test_decomposed_vietnamese_is_normalised_to_nfc(hub):
    text = "Nguyễn Thị Hồng Nhung, phường Bến Thành"
    nfd = unicodedata.normalize("NFD", text)
    assert nfd != text
    r = requests.post(hub.url + "/v1/calls", json={"type": "demo.echo", "payload": {"text": nfd}},
                      headers=auth(), timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["reply"]["text"] == text          # the partner got, and answered, the composed form


# --- family 2: JSON ---------------------------------------------------------------------------------
def nested(levels: int) -> bytes:
    return b'{"type": "demo.ping", "payload": {"text": "x", "n": ' + b"[" * levels + b"]" * levels + b"}}"


JSON_CASES = [
    ("deep nesting 40", nested(40), 400, "request.too_deep"),
    ("deep nesting 100000", nested(100_000), 400, "request.too_deep"),
    ("huge integer", b'{"type": "demo.ping", "payload": {"text": "x", "n": ' + b"9" * 400 + b"}}", 400,
     "request.number_too_large"),
    ("integer past python's limit", b'{"type": "demo.ping", "payload": {"n": ' + b"1" * 5000 + b"}}", 400,
     "request.number_too_large"),
    ("float overflow", b'{"type": "demo.ping", "payload": {"n": 1e999}}', 400, "request.number_too_large"),
    ("long mantissa", b'{"type": "demo.ping", "payload": {"n": 0.' + b"1" * 100 + b"}}", 400, "request.number_too_large"),
    ("NaN", b'{"type": "demo.ping", "payload": {"n": NaN}}', 400, "request.malformed_json"),
    ("Infinity", b'{"type": "demo.ping", "payload": {"n": -Infinity}}', 400, "request.malformed_json"),
    ("duplicate keys", b'{"type": "demo.ping", "payload": {"text": "a", "text": "b"}}', 400, "request.malformed_json"),
    ("duplicate top-level type", b'{"type": "demo.ping", "type": "citizen.verify", "payload": {}}', 400,
     "request.malformed_json"),
    ("wide array", json.dumps({"type": "demo.ping", "payload": {"text": "x", "a": [0] * 10_001}}).encode(), 413,
     "request.too_large"),
    ("long string", json.dumps({"type": "demo.ping", "payload": {"text": "x" * 70_000}}).encode(), 413,
     "request.too_large"),
    ("wrong type", json.dumps({"type": "demo.ping", "payload": {"text": 42}}).encode(), 422, "message.payload_invalid"),
    ("payload not an object", json.dumps({"type": "demo.ping", "payload": [1]}).encode(), 422,
     "message.envelope_invalid"),
    ("top-level array", b"[]", 400, "request.not_an_object"),
    ("top-level string", b'"x"', 400, "request.not_an_object"),
    ("empty body", b"", 400, "request.malformed_json"),
    ("bad personal id", json.dumps({"type": "citizen.verify", "payload": {
        "personal_id": "99920300456", "full_name": "Nguyễn Văn A", "birth_date": "1990-01-01",
        "officer_id": "CB01", "procedure_code": "1.000894", "dossier_code": "000.00.14.H20-240101-0001"}}).encode(),
     422, "message.payload_invalid"),
    ("bad date", json.dumps({"type": "citizen.verify", "payload": {
        "personal_id": CITIZEN_ID, "full_name": "Nguyễn Văn A", "birth_date": "1990-02-31",
        "officer_id": "CB01", "procedure_code": "1.000894", "dossier_code": "000.00.14.H20-240101-0001"}}).encode(),
     422, "message.payload_invalid"),
    ("bad phone", json.dumps({"type": "sms.send", "payload": {"phone": "12345", "text": "x"}}).encode(), 422,
     "message.payload_invalid"),
]


@pytest.mark.parametrize("name,body,status,code", JSON_CASES, ids=[c[0] for c in JSON_CASES])
def test_json(hub, watch, name, body, status, code):
    with watch():
        assert_refused(post_raw(hub, body), status, code)


# --- family 6: headers and ids ------------------------------------------------------------------------
IDS = [
    ("CRLF in id", {"id": "abc\r\nX-Injected: 1"}, "message.envelope_invalid"),
    ("LF at the end of the id", {"id": "abc\n"}, "message.envelope_invalid"),
    ("oversized id", {"id": "a" * 129}, "message.envelope_invalid"),
    ("space in id", {"id": "a b"}, "message.envelope_invalid"),
    ("CRLF in correlation id", {"correlation_id": "c\r\nSet-Cookie: x"}, "message.envelope_invalid"),
    ("CRLF in subject", {"subject": "s\r\n"}, "message.envelope_invalid"),
    ("CRLF in a header value", {"headers": {"note": "a\r\nb"}}, "message.envelope_invalid"),
    ("bad header name", {"headers": {"x y": "a"}}, "message.envelope_invalid"),
    ("oversized header value", {"headers": {"note": "a" * 600}}, "message.envelope_invalid"),
    ("too many headers", {"headers": {f"h{i}": "v" for i in range(40)}}, "message.envelope_invalid"),
    ("personal id as subject", {"subject": CITIZEN_ID}, "message.envelope_invalid"),
    ("phone number as subject", {"subject": PHONE}, "message.envelope_invalid"),
    ("old id inside a subject", {"subject": "HS-025123456"}, "message.envelope_invalid"),
]


@pytest.mark.parametrize("name,extra,code", IDS, ids=[c[0] for c in IDS])
def test_ids_in_the_envelope(hub, watch, name, extra, code):
    body = json.dumps({"type": "demo.ping", "payload": {"text": "x"}, **extra}).encode()
    with watch():
        assert_refused(post_raw(hub, body), 422, code)


@pytest.mark.parametrize("path", ["/v1/messages/abc%0D%0AX-Injected:%201", "/v1/messages/" + "a" * 200,
                                  "/v1/messages/a%00b", "/v1/procedures/1.0%0A00894",
                                  "/v1/inbound/Vnpay%0D%0AX:1", "/v1/inbound/" + "x" * 100])
def test_ids_in_paths(hub, watch, path):
    with watch():
        method = requests.post if "/inbound/" in path else requests.get
        r = method(hub.url + path, headers=auth(), timeout=30)
        assert_refused(r, 400, "request.bad_identifier")
        assert "\r" not in r.json()["detail"] and "\n" not in r.json()["detail"]


# --- family 7: authorization --------------------------------------------------------------------------
AUTHZ = [
    ("no token", {}, ping(), 401, "auth.missing_token"),
    ("empty bearer", {"Authorization": "Bearer "}, ping(), 401, "auth.missing_token"),
    ("basic auth", {"Authorization": "Basic ZGVtbzpkZW1v"}, ping(), 401, "auth.missing_token"),
    ("unknown token", {"Authorization": "Bearer nobody-knows-me"}, ping(), 401, "auth.invalid_token"),
    ("token with a space", {"Authorization": "Bearer sandbox-demo-token x"}, ping(), 401, "auth.invalid_token"),
    ("type not granted", {"Authorization": f"Bearer {NARROW_TOKEN}"},
     json.dumps({"type": "demo.echo", "payload": {"text": "x"}}).encode(), 403, "auth.type_not_granted"),
    ("identity check not granted", {"Authorization": f"Bearer {NARROW_TOKEN}"}, json.dumps({
        "type": "citizen.verify", "payload": {"personal_id": CITIZEN_ID}}).encode(), 403, "auth.type_not_granted"),
]


@pytest.mark.parametrize("name,headers,body,status,code", AUTHZ, ids=[c[0] for c in AUTHZ])
def test_authorization(hub, watch, name, headers, body, status, code):
    with watch():
        r = requests.post(hub.url + "/v1/messages", data=body, timeout=30,
                          headers={"Content-Type": "application/json", **headers})
        assert_refused(r, status, code)


def test_a_client_cannot_read_another_clients_message(hub):
    r = requests.post(hub.url + "/v1/messages", data=ping("mine"), headers=auth(), timeout=30)
    assert r.status_code == 202
    mid = r.json()["id"]
    other = requests.get(hub.url + f"/v1/messages/{mid}", headers=auth(NARROW_TOKEN), timeout=30)
    assert_refused(other, 404, "request.not_found")


def test_source_cannot_be_claimed_in_the_envelope(hub, watch):
    with watch():
        assert_refused(post_raw(hub, ping(source="other-client")), 422, "message.envelope_invalid")


def test_ip_allow_list_refuses_before_the_connector_runs(hub, watch):
    with watch():
        r = requests.post(hub.url + "/v1/inbound/paygov", data=b'{"MaDoiTac": "x"}', timeout=30,
                          headers={"Content-Type": "application/json"})
        assert_refused(r, 403, "inbound.address_not_allowed")
    assert "paygov callback refused" not in hub.log(), "the connector must not have run"


@pytest.mark.parametrize("method,path", [("POST", "/v1/inbound/echo"), ("POST", "/v1/inbound/nothing"),
                                         ("GET", "/v1/inbound/onestop")])
def test_no_inbound_endpoint_for_connectors_without_one(hub, watch, method, path):
    with watch():
        assert_refused(requests.request(method, hub.url + path, timeout=30), 404, "request.not_found")


@pytest.mark.parametrize("path", ["/ui/dead-letters/replay", "/ui/replay", "/ui/login"])
def test_dashboard_writes_need_a_session_and_csrf(hub, watch, path):
    with watch():
        r = requests.post(hub.url + path, data={"ids": "x"}, timeout=30, allow_redirects=False)
        assert r.status_code in (302, 303, 400, 401, 403, 404, 405), (path, r.status_code)
        assert_clean_text(r.text)


# --- family 8: attachments ----------------------------------------------------------------------------
@pytest.mark.parametrize("file_name", ["../../etc/passwd", "..\\..\\windows\\win.ini", "a/b.pdf", "/etc/shadow",
                                       "don\r\n.pdf", "..hidden"])
def test_attachment_names_are_bare_names(hub, watch, file_name):
    fixture = json.loads((__import__("pathlib").Path("tests/fixtures/messages/dossier.sync.json")).read_text()) \
        if __import__("pathlib").Path("tests/fixtures/messages/dossier.sync.json").is_file() else None
    if fixture is None:
        pytest.skip("no dossier.sync fixture")
    payload = fixture.get("payload", fixture)
    attachments = payload.get("attachments") or [{"file_id": "1", "file_name": "x.pdf"}]
    attachments[0]["file_name"] = file_name
    payload["attachments"] = attachments
    with watch():
        r = post_raw(hub, json.dumps({"type": "dossier.sync", "payload": payload}).encode())
        assert_refused(r, 422, "message.payload_invalid")


def _document_with(**attachment) -> bytes:
    """document.send from its fixture, its first attachment changed."""
    fixture = json.loads(Path("tests/fixtures/messages/document.send.json").read_text(encoding="utf-8"))
    payload = fixture.get("payload", fixture)
    payload["attachments"][0].update(attachment)
    return json.dumps({"type": "document.send", "payload": payload}, ensure_ascii=False).encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.mark.parametrize("name", ["../../etc/cron.d/x", "..\\..\\boot.ini", "thu-muc/quyet-dinh.pdf",
                                  "/tmp/x.pdf", "..an", "quyet\r\ndinh.pdf"])
def test_document_attachment_names_are_bare_names(hub, watch, name):
    with watch():
        assert_refused(post_raw(hub, _document_with(name=name)), 422, "message.payload_invalid")


SPOOFED = [
    ("windows program as pdf", "application/pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 60),
    ("linux program as pdf", "application/pdf", b"\x7fELF\x02\x01\x01" + b"\x00" * 60),
    ("shell script as docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
     b"#!/bin/sh\nrm -rf /\n"),
    ("html with script as pdf", "application/pdf", b"<!DOCTYPE html><html><script>alert(1)</script></html>"),
    ("svg with script as png", "image/png", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
    ("text as pdf", "application/pdf", "Quyết định số 123".encode()),
    ("jpeg as png", "image/png", b"\xff\xd8\xff\xe0\x00\x10JFIF"),
]


@pytest.mark.parametrize("name,content_type,content", SPOOFED, ids=[c[0] for c in SPOOFED])
def test_attachment_type_spoofing_is_refused(hub, watch, name, content_type, content):
    with watch():
        problem = assert_refused(post_raw(hub, _document_with(content_type=content_type, content_base64=_b64(content))),
                                 422, "message.attachment_refused")
        assert problem["errors"][0]["path"].startswith("/payload/attachments/0")


def test_a_true_pdf_is_carried(hub):
    """The control for the refusals above: the same document with a real PDF is accepted."""
    r = post_raw(hub, _document_with(content_type="application/pdf", content_base64=_b64(b"%PDF-1.7\n%\xe2\xe3")))
    assert r.status_code == 202, r.text[:300]


@pytest.mark.parametrize("content_type", ["application/pdf\r\nX-Injected: 1", "pdf", "application/pdf; x=<b>",
                                          "text/html<script>"])
def test_attachment_content_type_is_a_mime_type(hub, watch, content_type):
    with watch():
        r = post_raw(hub, _document_with(content_type=content_type))
        assert r.status_code in (400, 422), r.text[:300]
        assert r.json()["code"] in ("message.payload_invalid", "request.control_character")
        assert_clean_text(r.text)


def test_personal_data_never_echoed_in_errors(hub, watch):
    body = json.dumps({"type": "citizen.verify", "payload": {"personal_id": CITIZEN_ID, "phone": PHONE,
                                                              "full_name": 42}}).encode()
    with watch():
        assert_refused(post_raw(hub, body), 422, "message.payload_invalid")


def test_refusals_are_counted_by_code_only(hub):
    text = requests.get(hub.url + "/metrics", timeout=10).text
    assert 'code="message.payload_invalid"' in text          # refusals counted by their code ...
    assert "narrow" not in text and "sec-" not in text        # ... never by client or message id
    assert_clean_text(text)
