"""Payment orders opened with an intermediary (PayGov, VNPay, MoMo, ...), and what their callbacks said.

One row per (provider, reference). The row is the hub's side of reconciliation (đối soát): what it ordered,
and what the intermediary confirmed through a verified callback.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, DateTime, Index, String, Table, Text

from hub.store.schema import metadata

payments = Table(
    "payments", metadata,
    Column("provider", String(20), primary_key=True),          # paygov | vnpay | momo | ...
    Column("reference", String(20), primary_key=True),         # MaThamChieu / vnp_TxnRef / orderId
    Column("connector", String(40), nullable=False),
    Column("dossier_code", String(25), nullable=False),
    Column("agency_id", String(13)),
    Column("amount", BigInteger, nullable=False),              # VND
    Column("currency", String(3), nullable=False),
    Column("fees", Text, nullable=False),                      # JSON list of fee items as ordered
    Column("description", String(255), nullable=False),
    Column("message_id", String(128), nullable=False),         # the payment.create that opened it
    Column("provider_reference", String(100)),                 # the intermediary's id for the order, if any
    Column("state", String(12), nullable=False),               # created | paid | failed (paid is final)
    Column("result_code", String(10)),
    Column("transaction_id", String(64)),
    Column("paid_amount", BigInteger),
    Column("bank_code", String(20)),
    Column("completed_at", String(35)),                        # the intermediary's time, RFC 3339
    Column("business_date", Date),                             # day of the debit, Vietnam time: reconciliation key
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_payments_provider_day", "provider", "business_date"),
    Index("ix_payments_dossier", "dossier_code"),
)
