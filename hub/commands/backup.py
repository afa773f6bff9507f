"""``python run.py backup`` / ``python run.py restore``: the store, copied while the hub runs.

* SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot page by page while
  the hub keeps writing (WAL); the copy is one self-contained file.
* PostgreSQL: ``pg_dump --format=custom`` (a consistent snapshot in one transaction), restored with
  ``pg_restore --clean --if-exists --no-owner`` into the target database.

The schedule (weekly full copy, kept off the machine, restore tested) is in the README, "Backup" (QĐ 1948
art. 25.3). Passwords never go on the command line: PostgreSQL tools read PGPASSWORD from the environment.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urlsplit


def sqlite_path(url: str) -> Path:
    return Path(url.split("///", 1)[-1])


def _pg_args(url: str) -> tuple[list[str], dict[str, str]]:
    """libpq options and environment from a SQLAlchemy URL (driver suffix dropped, password via PGPASSWORD)."""
    parts = urlsplit(url.replace("postgresql+psycopg2://", "postgresql://", 1))
    args = ["--host", parts.hostname or "127.0.0.1", "--port", str(parts.port or 5432),
            "--dbname", unquote(parts.path.lstrip("/"))]
    if parts.username:
        args += ["--username", unquote(parts.username)]
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
    return args, env


def backup(url: str, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        source = sqlite3.connect(str(sqlite_path(url)))
        try:
            dest = sqlite3.connect(str(target))
            with dest:
                source.backup(dest, pages=1024)   # in steps: the hub's writers are not held up for long
            dest.close()
        finally:
            source.close()
        return target
    if url.startswith("postgresql"):
        args, env = _pg_args(url)
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(target), *args], env)
        return target
    raise SystemExit(f"backup: store {url.split(':', 1)[0]} is not supported (sqlite or postgresql)")


def restore(url: str, source: Path) -> None:
    if not source.is_file():
        raise SystemExit(f"restore: {source} does not exist")
    if url.startswith("sqlite"):
        target = sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        src = sqlite3.connect(str(source))
        try:
            dest = sqlite3.connect(str(target))
            with dest:
                src.backup(dest)              # replaces every page of the target: the copy wins, whole
            dest.close()
        finally:
            src.close()
        return
    if url.startswith("postgresql"):
        args, env = _pg_args(url)
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", *args, str(source)], env)
        return
    raise SystemExit(f"restore: store {url.split(':', 1)[0]} is not supported (sqlite or postgresql)")


def _run(cmd: list[str], env: dict[str, str]) -> None:
    if shutil.which(cmd[0]) is None:
        raise SystemExit(f"{cmd[0]} is not installed: apt-get install postgresql-client (same major version as the server)")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def default_target(url: str, directory: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    suffix = "sqlite" if url.startswith("sqlite") else "dump"
    return Path(directory) / f"hub-{stamp}.{suffix}"


def _store_url(args: argparse.Namespace) -> str:
    if args.store:
        return args.store
    from hub.config import load_config
    return load_config(args.config).settings.store


def run_backup(args: argparse.Namespace) -> int:
    url = _store_url(args)
    target = Path(args.output) if args.output else default_target(url, args.dir)
    backup(url, target)
    print(f"backup written to {target} ({target.stat().st_size} bytes)")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    url = _store_url(args)
    if not args.yes:
        print("restore replaces the whole store; stop the hub first, then run again with --yes", file=sys.stderr)
        return 2
    restore(url, Path(args.file))
    print(f"store restored from {args.file}")
    return 0


def register(sub, common) -> None:  # noqa: ANN001 - argparse's types
    b = sub.add_parser("backup", help="copy the store while the hub runs (SQLite online backup / pg_dump)",
                       description="Copy the store: SQLite through the online backup API, PostgreSQL with pg_dump.")
    common(b)
    b.add_argument("--store", help="store URL (default from hub.yaml)")
    b.add_argument("--dir", default="var/backups", help="directory for a time-stamped file (default var/backups)")
    b.add_argument("--output", help="exact file to write instead")
    b.set_defaults(func=run_backup)
    r = sub.add_parser("restore", help="replace the store with a backup (stop the hub first)",
                       description="Replace the whole store with a backup made by 'run.py backup'.")
    common(r)
    r.add_argument("file", help="the backup file")
    r.add_argument("--store", help="store URL (default from hub.yaml)")
    r.add_argument("--yes", action="store_true", help="really replace the store")
    r.set_defaults(func=run_restore)
