"""One round trip per group commit on PostgreSQL.

Through SQLAlchemy, one accept costs BEGIN, an INSERT per table and COMMIT: five round trips to the database, each a
green-thread switch and a wake-up of the database process, and at a provincial hub's modest rates the wake-ups, not
the work, are most of the gateway's latency (bench/README.md). PostgreSQL runs several statements sent as ONE simple
query as one implicit transaction: all of them or none, committed (and, with synchronous_commit on, flushed) before
the answer comes back. So the hot writes are sent that way: the rows rendered into literals by the driver's own
quoting (psycopg2 ``mogrify``: the same adaptation as bound parameters, never string formatting of values), the
connection in autocommit so the driver adds no BEGIN and no COMMIT of its own.

Used only by the store's hot paths (accepts and outcomes; a claim is a single UPDATE ... RETURNING on the same
autocommit pool) and only on PostgreSQL; SQLite keeps the ordinary transaction.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from sqlalchemy import Table

#: an UPDATE value that is SQL, not data (``attempts = attempts - 1``): the only kind the store needs
Raw = str


class Script:
    """Statements collected for one round trip. ``cursor``: a psycopg2 cursor, used only to quote values."""

    def __init__(self, cursor: Any, quote: Any) -> None:
        self._cursor = cursor
        self._quote = quote          # the dialect's identifier quoting (a column named "at" stays a column)
        self._parts: list[bytes] = []

    def insert(self, table: Table, rows: list[Mapping[str, Any]]) -> "Script":
        """One multi-row INSERT; every row has the same keys (the store builds them so)."""
        if not rows:
            return self
        columns = list(rows[0])
        template = "(" + ", ".join(["%s"] * len(columns)) + ")"
        head = f"INSERT INTO {self._quote(table.name)} ({', '.join(self._quote(c) for c in columns)}) VALUES "
        # one mogrify for all the rows: the same adaptation as one per row, in one call of the driver
        values = self._cursor.mogrify(", ".join([template] * len(rows)), [row[c] for row in rows for c in columns])
        self._parts.append(head.encode() + values)
        return self

    def upsert(self, table: Table, rows: list[Mapping[str, Any]], key: str, newer: str) -> "Script":
        """One multi-row ``INSERT ... ON CONFLICT (key) DO UPDATE``: a row replaces the stored one only when its
        ``newer`` column is not older than the stored one's. Each key at most once in ``rows`` (PostgreSQL refuses
        to update one row twice in one statement)."""
        if not rows:
            return self
        self.insert(table, rows)
        q, name = self._quote, self._quote(table.name)
        sets = ", ".join(f"{q(c)} = EXCLUDED.{q(c)}" for c in rows[0] if c != key)
        self._parts[-1] += (f" ON CONFLICT ({q(key)}) DO UPDATE SET {sets}"
                            f" WHERE {name}.{q(newer)} <= EXCLUDED.{q(newer)}").encode()
        return self

    def update(self, table: Table, key: str, key_value: Any, values: Mapping[str, Any],
               raw: Iterable[tuple[str, Raw]] = ()) -> "Script":
        """``UPDATE table SET values, raw WHERE key = key_value``."""
        sets = [f"{self._quote(c)} = %s" for c in values] + [f"{self._quote(c)} = {sql}" for c, sql in raw]
        statement = f"UPDATE {self._quote(table.name)} SET {', '.join(sets)} WHERE {self._quote(key)} = %s"
        self._parts.append(self._cursor.mogrify(statement, [*values.values(), key_value]))
        return self

    def sql(self) -> str:
        return b";\n".join(self._parts).decode("utf-8")

    def __bool__(self) -> bool:
        return bool(self._parts)


def run(conn: Any, build: Any) -> None:
    """``build(script)`` fills a Script; it is sent as one query on ``conn``, a SQLAlchemy connection in autocommit.
    Errors come back as SQLAlchemy's (IntegrityError, OperationalError...), as from any other statement."""
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        script = Script(cursor, conn.dialect.identifier_preparer.quote)
        build(script)
    finally:
        cursor.close()
    if script:
        # no_parameters: the text goes to cursor.execute(sql) as it is; a '%' inside a quoted value stays one
        conn.execution_options(no_parameters=True).exec_driver_sql(script.sql())
