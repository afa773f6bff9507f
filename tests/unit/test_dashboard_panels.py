"""The dashboard's later panels without nameko: sync lag to DVCQG per agency (overview), search by agency (indexed
column from the dossier code, with its migration back-filling older rows), and a message's signature results.
Each panel is checked for escaping of hostile data, masking of personal data and its Vietnamese / English text."""
from __future__ import annotations

import datetime as dt
import hashlib

from alembic import command
from alembic.config import Config
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import insert, select

from hub import errors
from hub.formats import agency_of
from hub.message import Message, utcnow
from hub.signing.evidence import Evidence
from hub.store import HopRecord, Outcome, Store, dossiers
from hub.store.engine import MIGRATIONS
from hub.store.schema import messages
from hub.web.signatures import evidence_fields
from tests.unit.test_web import client, login, runtime, ui  # noqa: F401 - fixtures shared with the dashboard tests

HOSTILE = '<script>alert("xss")</script>'
AGENCY_A, AGENCY_B = "000.00.14.H20", "000.00.31.H56"


def accept(runtime, mid: str, subject: str | None, hops: list[HopRecord] | None = None) -> None:  # noqa: F811
    msg = Message(id=mid, type="demo.ping", source="demo", subject=subject, payload={"text": "x"})
    runtime.store.accept(msg, "d", [("demo-ping-to-echo", "echo")], hops or [HopRecord("received")])


# --- search by agency ------------------------------------------------------------------------------
def test_agency_is_the_head_of_a_dossier_code_only():
    assert agency_of(f"{AGENCY_A}-260101-0001") == AGENCY_A
    assert agency_of("D-1") is None and agency_of(None) is None
    assert agency_of("000.00.14.H20-260230-0001") is None        # no such date: not a dossier code


def test_search_by_agency_uses_the_stored_column(client, runtime):  # noqa: F811
    accept(runtime, "a1", f"{AGENCY_A}-260101-0001")
    accept(runtime, "a2", f"{AGENCY_A}-260102-0002")
    accept(runtime, "b1", f"{AGENCY_B}-260101-0001")
    accept(runtime, "n1", "not-a-dossier")
    with runtime.store.engine.connect() as conn:
        stored = dict(conn.execute(select(messages.c.id, messages.c.agency_id)).all())
    assert stored == {"a1": AGENCY_A, "a2": AGENCY_A, "b1": AGENCY_B, "n1": None}
    login(client)
    html = client.get("/ui/search", query_string={"agency": AGENCY_A}).text
    def shown(mid: str, page: str) -> bool:   # the row's link: a random CSRF token may contain "b1" or "n1"
        return f'message?id={mid}"' in page
    assert shown("a1", html) and shown("a2", html) and not shown("b1", html) and not shown("n1", html)
    assert f'href="/ui/search?agency={AGENCY_A}"' in html                 # each row links its agency
    both = client.get("/ui/search", query_string={"agency": AGENCY_B, "connector": "echo"}).text
    assert shown("b1", both) and not shown("a1", both)                    # with the deliveries' walk too
    english = client.get("/ui/lang?to=en&back=/ui/search")
    assert english.status_code == 303
    assert ">Agency " in client.get("/ui/search").text
    hostile = client.get("/ui/search", query_string={"agency": '"><b>x'}).text
    assert '"><b>x' not in hostile and "&#34;&gt;&lt;b&gt;x" in hostile


def test_migration_fills_the_agency_of_older_messages(store_url):
    store = Store(store_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    now = utcnow()
    row = {"type": "demo.ping", "source": "demo", "created_at": now, "accepted_at": now, "digest": "0" * 64,
           "envelope": "{}", "correlation_id": None}
    with store.engine.begin() as conn:   # the table as revision 0001 made it: no agency_id yet
        for mid, subject in (("old1", f"{AGENCY_A}-260101-0001"), ("old2", "other")):
            conn.exec_driver_sql("INSERT INTO messages (id, type, source, subject, created_at, accepted_at, digest, "
                                 f"envelope) VALUES ('{mid}', 'demo.ping', 'demo', '{subject}', "
                                 "'2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00', 'x', '{}')")
    store.migrate()
    with store.engine.begin() as conn:
        conn.execute(insert(messages).values(id="new1", subject=None, **row))
        stored = dict(conn.execute(select(messages.c.id, messages.c.agency_id)).all())
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN SELECT id FROM messages WHERE agency_id = 'x' "
                                    "ORDER BY accepted_at DESC LIMIT 50").all() if "sqlite" in store_url else None
    store.close()
    assert stored == {"old1": AGENCY_A, "old2": None, "new1": None}
    if plan is not None:
        assert "ix_messages_agency_accepted" in " ".join(str(r[-1]) for r in plan)   # no scan, no sort


# --- sync lag per agency -------------------------------------------------------------------------
def acknowledge(runtime, mid: str, agency: str, lag_s: float) -> None:  # noqa: F811
    accept(runtime, mid, f"{AGENCY_A}-260101-{abs(hash(mid)) % 9999:04d}")
    with runtime.store.engine.connect() as conn:
        accepted = conn.execute(select(messages.c.accepted_at).where(messages.c.id == mid)).scalar_one()
    accepted = accepted if accepted.tzinfo else accepted.replace(tzinfo=dt.timezone.utc)
    dossiers.record(runtime.store, [dossiers.Acknowledged(f"{agency}-{mid}", agency, None, 2, accepted, mid,
                                                          accepted + dt.timedelta(seconds=lag_s))])


def test_overview_shows_sync_lag_per_agency_as_the_stats_command_computes_it(client, runtime):  # noqa: F811
    login(client)
    assert 'id="sync-lag-none"' in client.get("/ui").text
    acknowledge(runtime, "s1", AGENCY_A, 0.4)
    acknowledge(runtime, "s2", AGENCY_A, 2.5)
    acknowledge(runtime, "s3", AGENCY_B, 125)
    acknowledge(runtime, "s4", HOSTILE[:13], 1)
    html = client.get("/ui").text
    assert "Độ trễ đồng bộ lên Cổng DVC quốc gia" in html
    table = html.split('id="sync-lag"', 1)[1].split("</table>", 1)[0]
    rows = {r["agency_id"]: r for r in dossiers.lag_by_agency(runtime.store)}
    assert rows[AGENCY_A]["syncs"] == 2 and rows[AGENCY_B]["max_ms"] > 120_000
    assert f'href="/ui/search?agency={AGENCY_A}">{AGENCY_A}</a>' in table
    assert "1.45 s" in table and "2.50 s" in table            # mean and p95 of agency A
    assert "2.1 min" in table                                  # agency B, and its row is flagged (p95 > 1 min)
    assert table.count('class="warn"') == 1
    assert "<script>" not in html and "&lt;script&gt;alert" in table
    client.get("/ui/lang?to=en&back=/ui")
    assert "Sync lag to the national portal (DVCQG) per agency" in client.get("/ui").text


# --- signature results ---------------------------------------------------------------------------
def certificate(cn: str) -> tuple[x509.Certificate, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "LGSP Test Issuing CA")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer).public_key(key.public_key())
            .serial_number(0x1A2B3C).not_valid_before(now).not_valid_after(dt.datetime(2030, 6, 1, tzinfo=dt.timezone.utc))
            .sign(key, hashes.SHA256()))
    from cryptography.hazmat.primitives.serialization import Encoding
    return cert, cert.public_bytes(Encoding.PEM).decode("ascii")


def evidence(action: str, key: str, subject: str, pem: str, data: bytes) -> Evidence:
    return Evidence(action, key, "jws", "ES256", subject, "1a2b3c", "x5t-thumb", hashlib.sha256(data).hexdigest(),
                    data=data, signature="h..s", certificates=(pem,), anchors=(pem,))


def test_message_page_shows_what_was_signed_and_verified_with_which_certificate(client, runtime):  # noqa: F811
    _, ours = certificate("Sở Thông tin và Truyền thông")
    _, theirs = certificate("Bưu điện tỉnh")
    citizen = "CN=Nguyễn Văn A,serialNumber=CCCD:001203004567"
    verified = evidence("verified", "vnpost", citizen, theirs, b'{"x":1}')
    accept(runtime, "sig1", f"{AGENCY_A}-260101-0009",
           [HopRecord("received"), HopRecord("verified", detail=str(verified), evidence=verified)])
    claimed = runtime.store.claim("sig1/demo-ping-to-echo", 30)
    signed = evidence("signed", "agency", "CN=Sở Thông tin và Truyền thông", ours, b"<doc/>")
    runtime.store.finish(claimed, Outcome("delivered"),
                         [HopRecord("signed", detail=str(signed), delivery_id=claimed.id, evidence=signed),
                          HopRecord("delivered", delivery_id=claimed.id)])
    login(client)
    html = client.get("/ui/message", query_string={"id": "sig1"}).text
    panel = html.split('id="signatures"', 1)[1].split("</table>", 1)[0]
    assert "Kết quả ký số và xác thực chữ ký" in html
    assert panel.count("<tr") == 3                                    # header + verified + signed
    assert "Chữ ký hợp lệ" in panel and "Đã ký" in panel
    assert ">vnpost<" in panel and ">agency<" in panel and "ES256" in panel
    assert "CN=LGSP Test Issuing CA" in panel and "2030-06-01" in panel and "1a2b3c" in panel
    assert hashlib.sha256(b"<doc/>").hexdigest()[:16] in panel
    assert "001203004567" not in html and "Nguyễn Văn A" in panel         # the citizen's id masked


def test_a_refused_signature_shows_its_reason_masked_and_escaped(client, runtime):  # noqa: F811
    accept(runtime, "sig2", f"{AGENCY_A}-260101-0010")
    claimed = runtime.store.claim("sig2/demo-ping-to-echo", 30)
    reason = f"trust dancu: [signature.invalid] signer {HOSTILE} for 0912345678"
    runtime.store.finish(claimed, Outcome("dead", code=errors.DLV_VERIFY, error=reason),
                         [HopRecord("failed", code=errors.DLV_VERIFY, detail=reason, delivery_id=claimed.id),
                          HopRecord("dead_lettered", code=errors.DLV_VERIFY, detail=reason, delivery_id=claimed.id)])
    login(client)
    html = client.get("/ui/message", query_string={"id": "sig2"}).text
    panel = html.split('id="signatures"', 1)[1].split("</table>", 1)[0]
    assert panel.count("<tr") == 2 and "Chữ ký không hợp lệ" in panel and ">dancu<" in panel
    assert "delivery.verify_failed" in panel and "signature.invalid" in panel
    assert "<script>" not in html and "&lt;script&gt;" in panel and "0912345678" not in html
    client.get("/ui/lang?to=en&back=/ui")
    english = client.get("/ui/message", query_string={"id": "sig2"}).text
    assert "Signature results" in english and "Verification failed" in english
    accept(runtime, "sig3", None)
    assert 'id="no-signatures"' in client.get("/ui/message", query_string={"id": "sig3"}).text


def test_evidence_line_fields():
    ev = Evidence("signed", "agency", "xmldsig", "rsa-sha256", "CN=A B,O=C", "ff01", "t", "ab" * 32)
    assert evidence_fields(str(ev)) == {"key": "agency", "format": "xmldsig", "alg": "rsa-sha256", "serial": "ff01",
                                        "x5t#S256": "t", "sha256": "ab" * 32, "subject": "CN=A B,O=C"}
