"""Shared fixtures. Tests needing RabbitMQ or PostgreSQL run in CI (CI=true) and never skip there."""
from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_up(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """In CI a missing service is a failure, never a skip; on a laptop it skips with a clear notice."""
    if service_up(host, port):
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{name} is not reachable at {host}:{port}; CI must run this test against it")
    pytest.skip(f"{name} not running at {host}:{port}: start it to run this test (CI runs it)")


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A writable copy of the sandbox configuration."""
    target = tmp_path / "config"
    shutil.copytree(CONFIG, target)
    return target


PG_ADMIN_URL = os.environ.get("HUB_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    import uuid

    import sqlalchemy as sa

    require_service("PostgreSQL", "127.0.0.1", 5432)
    name = f"hub_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/hub.db"
    return request.getfixturevalue("pg_url")


@pytest.fixture(autouse=True)
def _no_procedure_catalogue_left_installed():
    """A HubRuntime installs its store's procedure catalogue process-wide (for the check_procedure step); a test
    that builds one without stopping it must not leave it to the next test, whose store is another."""
    yield
    from hub.store import procedures
    procedures.install(None)
