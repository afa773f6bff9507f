"""Operators of the dashboard: accounts from config/hub.yaml, password hashes, signed session cookies, CSRF.

Accounts (``operators:`` in hub.yaml)::

    operators:
      an:
        name: Nguyễn Văn An
        role: operator                 # viewer: look only; operator: may also replay dead letters
        password_hash: scrypt$16384$8$1$<salt b64>$<hash b64>     # python run.py operator-hash

Hashes are scrypt (or pbkdf2_sha256$<iterations>$<salt>$<hash>) from hashlib: no extra dependency, and a leaked
hub.yaml does not give the passwords away. The session is a cookie ``<payload b64>.<HMAC-SHA256>``, HttpOnly,
SameSite=Strict, with an expiry inside the signed payload; the CSRF token is an HMAC of the session's nonce, so
a POST without the token of its own session is refused.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any, Mapping

ROLES = ("viewer", "operator")
COOKIE = "hub_session"
SESSION_SECONDS = 8 * 3600         # one working day; then log in again
SCRYPT = (16384, 8, 1)


@dataclass(frozen=True)
class Operator:
    username: str
    name: str
    role: str
    password_hash: str

    @property
    def may_replay(self) -> bool:
        return self.role == "operator"


@dataclass(frozen=True)
class Session:
    username: str
    role: str
    nonce: str
    expires: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    n, r, p = SCRYPT
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time comparison; an unreadable hash never matches."""
    try:
        scheme, *parts = stored.split("$")
        if scheme == "scrypt":
            n, r, p, salt, digest = parts
            got = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                                 dklen=len(_unb64(digest)), maxmem=64 * 1024 * 1024)
        elif scheme == "pbkdf2_sha256":
            iterations, salt, digest = parts
            got = hashlib.pbkdf2_hmac("sha256", password.encode(), _unb64(salt), int(iterations),
                                      dklen=len(_unb64(digest)))
        else:
            return False
        return hmac.compare_digest(got, _unb64(digest))
    except (ValueError, TypeError):
        return False


def valid_hash(stored: str) -> bool:
    scheme = stored.split("$", 1)[0]
    return (scheme == "scrypt" and stored.count("$") == 5) or (scheme == "pbkdf2_sha256" and stored.count("$") == 3)


def operators_from_config(section: Mapping[str, Any]) -> dict[str, Operator]:
    return {user: Operator(user, str(spec.get("name", user)), str(spec.get("role", "viewer")),
                           str(spec.get("password_hash", "")))
            for user, spec in (section or {}).items()}


class Authenticator:
    """Checks passwords and signs sessions. The secret comes from HUB_UI_SECRET (the same on every gateway
    process behind one address); without it each process makes its own, and a restart logs everyone out."""

    def __init__(self, operators: Mapping[str, Operator], secret: bytes | None = None,
                 clock: Any = time.time) -> None:
        self.operators = dict(operators)
        env = os.environ.get("HUB_UI_SECRET")
        self.secret = secret or (env.encode() if env else secrets.token_bytes(32))
        self.clock = clock
        # a fixed hash to spend the same time on unknown users as on known ones (no user enumeration by timing)
        self._decoy = hash_password("decoy", b"0123456789abcdef")

    def login(self, username: str, password: str) -> Operator | None:
        op = self.operators.get(username)
        ok = verify_password(password, op.password_hash if op else self._decoy)
        return op if ok and op is not None and op.role in ROLES else None

    def issue(self, op: Operator) -> str:
        payload = {"u": op.username, "r": op.role, "n": secrets.token_urlsafe(16),
                   "e": int(self.clock() + SESSION_SECONDS)}
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{self._sign(body)}"

    def read(self, cookie: str | None) -> Session | None:
        """The session of a valid, unexpired cookie whose operator still exists with the same role."""
        if not cookie or "." not in cookie:
            return None
        body, sig = cookie.rsplit(".", 1)
        if not hmac.compare_digest(sig, self._sign(body)):
            return None
        try:
            data = json.loads(_unb64(body))
        except ValueError:
            return None
        op = self.operators.get(data.get("u"))
        if op is None or op.role != data.get("r") or data.get("e", 0) < self.clock():
            return None
        return Session(op.username, op.role, data["n"], data["e"])

    def csrf_token(self, session: Session) -> str:
        return _b64(hmac.new(self.secret, f"csrf:{session.nonce}".encode(), hashlib.sha256).digest())

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(token, self.csrf_token(session))

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self.secret, body.encode(), hashlib.sha256).digest())
