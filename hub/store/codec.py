"""Payloads at rest: ``messages.envelope`` and ``deliveries.reply`` are encrypted with Fernet (AES-128-CBC +
HMAC-SHA256, from ``cryptography``), so a copy of the database alone reveals no citizen's data.

Keys, first found wins:

1. ``HUB_STORE_KEY``: Fernet keys separated by commas, **newest first**;
2. ``HUB_STORE_KEY_FILE`` or ``hub.store_keys.file``: a file with one key a line, newest first;
3. the sandbox key ``store.key`` beside the SQLite database (``var/`` by default), generated on first run (``run.py check --production`` refuses it).

Rotation (MultiFernet): put the new key first and keep the old ones after it; new rows use the first key, every
listed key still reads old rows. ``run.py reencrypt`` (hub/commands/reencrypt.py) rewrites every stored value
under the newest key; after it reports nothing left under an old key, that key can be dropped (docs/security.md).

A stored value is ``f1:<token>``; a value without the prefix is read as it is (rows written before encryption
existed), so no migration rewrites the table.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from hub import errors
from hub.errors import HubError

PREFIX = "f1:"
ENV_KEYS = "HUB_STORE_KEY"
ENV_FILE = "HUB_STORE_KEY_FILE"
SANDBOX_FILE = "store.key"


class Codec:
    def __init__(self, keys: list[str], source: str) -> None:
        if not keys:
            raise HubError(errors.STORE_KEY, f"No store key in {source}.")
        try:
            fernets = [Fernet(k.strip().encode()) for k in keys]
            self._fernet = MultiFernet(fernets)
            self._newest = fernets[0]
        except ValueError:
            raise HubError(errors.STORE_KEY, f"A store key in {source} is not a Fernet key "
                                             "(32 url-safe base64-encoded bytes).") from None
        self.source = source      # where the keys came from (never the keys): `check --production` reads it

    @property
    def sandbox(self) -> bool:
        return self.source.startswith("sandbox")

    def encode(self, text: str | None) -> str | None:
        if text is None:
            return None
        return PREFIX + self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decode(self, stored: str | None) -> str | None:
        if stored is None or not stored.startswith(PREFIX):
            return stored
        try:
            return self._fernet.decrypt(stored[len(PREFIX):].encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise HubError(errors.STORE_KEY, "A stored payload was written with a key that is not configured "
                                             f"({self.source}).") from None

    def current(self, stored: str | None) -> bool:
        """Whether a stored value is already under the newest key (None is: there is nothing to re-encrypt).
        A Fernet token does not name its key: the newest key is tried alone."""
        if stored is None:
            return True
        if not stored.startswith(PREFIX):
            return False
        try:
            self._newest.decrypt(stored[len(PREFIX):].encode("ascii"))
        except InvalidToken:
            return False
        return True

    def rotate(self, stored: str | None) -> str | None:
        """The same value under the newest key (for a re-encryption pass before an old key is dropped)."""
        if stored is None or not stored.startswith(PREFIX):
            return self.encode(stored)
        try:
            return PREFIX + self._fernet.rotate(stored[len(PREFIX):].encode("ascii")).decode("ascii")
        except InvalidToken:
            raise HubError(errors.STORE_KEY, "A stored payload was written with a key that is not configured "
                                             f"({self.source}).") from None


def _read_keys(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


HOME = Path(__file__).resolve().parents[2]     # the directory holding config/: the hub's home


def sandbox_dir(store_url: str) -> Path:
    """Where the sandbox key lives: beside a SQLite database (so every process and command working on that
    database, whatever its working directory or config copy, reads it), else the hub's var/."""
    if store_url.startswith("sqlite:///") and not store_url.endswith(":memory:"):
        return Path(store_url[len("sqlite:///"):].split("?")[0]).parent
    return HOME / "var"


def for_config(config: "HubConfig") -> Codec:  # noqa: F821 - hub.config.model, not imported here (no cycle)
    """A key file named in hub.yaml resolves against the directory holding the config directory."""
    keys_file = config.settings.store_keys_file
    home = Path(config.directory).resolve().parent
    return load(sandbox_dir(config.settings.store), str(home / keys_file) if keys_file else None)


def load(var_dir: str | Path = HOME / "var", keys_file: str | None = None) -> Codec:
    """The process's codec, from the environment, the key file or the sandbox key (created when absent)."""
    if os.environ.get(ENV_KEYS, "").strip():
        return Codec([k for k in os.environ[ENV_KEYS].split(",") if k.strip()], f"environment {ENV_KEYS}")
    named = os.environ.get(ENV_FILE) or keys_file
    if named:
        path = Path(named)
        if not path.is_file():
            raise HubError(errors.STORE_KEY, f"The store key file {path} does not exist.")
        return Codec(_read_keys(path), f"file {path}")
    path = Path(var_dir) / SANDBOX_FILE
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        # created with 0600 from the start: never readable by other users, not even for an instant
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:     # another hub process (serve --workers N) made it a moment ago
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(Fernet.generate_key().decode("ascii") + "\n")
    for _ in range(50):
        keys = _read_keys(path)
        if keys:
            break
        time.sleep(0.02)            # the other process has created the file but not written it yet
    return Codec(keys, f"sandbox key {path}")
