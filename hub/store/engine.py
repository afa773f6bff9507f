"""Engines and migrations. SQLite runs in WAL mode with full fsync; PostgreSQL through psycopg2 made green."""
from __future__ import annotations

import select
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import QueuePool

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _green() -> bool:
    """True when eventlet has patched the process (the nameko services): blocking drivers must yield."""
    return "eventlet" in sys.modules and __import__("eventlet.patcher").patcher.is_monkey_patched("socket")


def make_engine(url: str, autocommit: bool = False, claims: bool = False) -> Engine:
    """``autocommit`` (PostgreSQL only): every statement is its own transaction, for the store's one-query group
    commits (hub/store/onetrip.py); a pool of its own, so no connection switches mode back and forth (psycopg2
    does not make that free). ``claims`` (PostgreSQL, with ``autocommit``): the pool of the claims, whose commits do
    not wait for their WAL flush (``synchronous_commit`` off per write, :data:`WITHOUT_FLUSH_WAIT`; why that
    keeps the contract: Store.__init__)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One connection: SQLite has one writer anyway, and a busy-wait inside the C library would block every
        # green thread of the process. Callers queue on the pool (a green lock under eventlet) instead.
        engine = create_engine(url, poolclass=QueuePool, pool_size=1, max_overflow=0, pool_timeout=30,
                               connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # noqa: ANN001 - DB-API types
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")     # accepted means on disk, not in the OS cache
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
        return engine
    if url.startswith("postgresql"):
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg2://" + url[len("postgresql://"):]  # the driver psycogreen can make green
        if _green():
            from psycogreen.eventlet import patch_psycopg
            patch_psycopg()
        # A few connections per process are enough: transactions are short and green threads queue on the pool;
        # PostgreSQL's own limit (100 by default) is shared by every hub process on every machine.
        # No pool_pre_ping (a SELECT 1 round trip at every checkout, 8 % of the gateway's time): a pooled
        # connection the server closed is noticed at checkout without a round trip (_closed_by_server), and the
        # store's hot paths run once more on a fresh connection when one dies in use anyway (Store._run).
        # The hot paths' group commits (accepts, outcomes, dossier states) get 4 and no overflow: under load an
        # overflow connection is opened for a burst and closed when it is handed back (the pool is full again), a
        # new PostgreSQL backend each time - 11 % of the DVCQG worker's samples when the ordered claims first moved
        # to an autocommit pool (bench/README.md). Waiting for a pooled one costs less. Everything else 6 + 2.
        # The claims (group commits, ordered claims and releases) get 4 more, no overflow: at most 16 per process.
        sizes = {"pool_size": 4, "max_overflow": 0} if autocommit else {"pool_size": 6, "max_overflow": 2}
        engine = create_engine(url, **sizes, pool_timeout=10, connect_args={"connect_timeout": 5},
                               **({"isolation_level": "AUTOCOMMIT"} if autocommit else {}))
        event.listen(engine, "checkout", _drop_if_closed_by_server)
        if claims:
            event.listen(engine, "before_cursor_execute", _without_flush_wait, retval=True)
        return engine
    return create_engine(url)


#: sent before each write of the claims' pool, in the same simple query: one implicit transaction, so the setting is
#: that transaction's own (``is_local``). Not a session setting or a startup option: through a transaction-pooling
#: PgBouncer a session SET would reach other clients' transactions, and PgBouncer refuses unknown startup options.
WITHOUT_FLUSH_WAIT = "SELECT set_config('synchronous_commit', 'off', true);\n"


def _without_flush_wait(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ANN202
    """A write commits without waiting for its WAL flush; psycopg2 hands back the last statement's rows. A SELECT
    writes no WAL, so its commit waits for nothing: it is left alone (the setting cost 0.2-0.4 database CPU ms per
    DVCQG message when sent before the ordering checks too, A/B ab5 in bench/README.md)."""
    if statement.startswith("SELECT"):
        return statement, parameters
    return WITHOUT_FLUSH_WAIT + statement, parameters


def _select():  # noqa: ANN202
    """The OS's select: a zero-timeout look never blocks, so it need not go through eventlet's hub (cheaper)."""
    if _green():
        return __import__("eventlet.patcher").patcher.original("select").select
    return select.select


def _closed_by_server(dbapi_conn) -> bool:  # noqa: ANN001 - a psycopg2 connection
    """An idle connection has nothing to read; a readable socket means the server ended it (a restart, an
    administrator's pg_terminate_backend: PostgreSQL sends its FATAL notice and closes) or it is closed already."""
    if dbapi_conn.closed:
        return True
    try:
        readable, _, _ = _select()([dbapi_conn.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _drop_if_closed_by_server(dbapi_conn, record, proxy) -> None:  # noqa: ANN001 - SQLAlchemy's event signature
    if _closed_by_server(dbapi_conn):
        # the pool discards this connection and checks out (or opens) another one
        raise DisconnectionError("the database closed this pooled connection")


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision. On PostgreSQL an advisory lock keeps N processes from racing."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(4242001)"))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")  # plugins add their own branches from 0001: every head is applied
