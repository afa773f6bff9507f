"""Errors of ``hub.signing``. Their stable codes live in :mod:`hub.errors` with every other code
(block "signatures and checksums"); the names below are kept so the signing modules read naturally.

    HubError
    └── SigningError              code, detail, status, title, fix (from hub.errors)
        ├── SignatureError        a signature, certificate or checksum we received is not acceptable
        ├── KeyUnavailableError   one of our signing keys cannot be used (missing, wrong password, expired)
        └── SigningConfigError    the ``signing:`` section is wrong; carries every problem found

Details never include key material, passwords or the signed content (it may hold personal data).
"""
from __future__ import annotations

from hub import errors as _errors
from hub.errors import HubError

MALFORMED = _errors.SIG_MALFORMED
MISSING = _errors.SIG_MISSING
INVALID = _errors.SIG_INVALID
WRAPPING = _errors.SIG_WRAPPING
UNEXPECTED_REFERENCES = _errors.SIG_UNEXPECTED_REFERENCES
ALGORITHM_FORBIDDEN = _errors.SIG_ALGORITHM_FORBIDDEN
WEAK_KEY = _errors.SIG_WEAK_KEY
KEY_INFO_AMBIGUOUS = _errors.SIG_KEY_INFO_AMBIGUOUS
CERT_UNTRUSTED = _errors.SIG_CERT_UNTRUSTED
CERT_EXPIRED = _errors.SIG_CERT_EXPIRED
CERT_NOT_YET_VALID = _errors.SIG_CERT_NOT_YET_VALID
UNKNOWN_KEY = _errors.SIG_UNKNOWN_KEY
HEADER_FORBIDDEN = _errors.SIG_HEADER_FORBIDDEN
NO_TRUST_STORE = _errors.SIG_NO_TRUST_STORE
KEY_UNAVAILABLE = _errors.SIG_KEY_UNAVAILABLE
CHECKSUM_MISSING = _errors.CHECKSUM_MISSING
CHECKSUM_MALFORMED = _errors.CHECKSUM_MALFORMED
CHECKSUM_MISMATCH = _errors.CHECKSUM_MISMATCH
CONFIG_INVALID = _errors.CONFIG_INVALID


class SigningError(HubError):
    def __init__(self, code: str, detail: str | None = None) -> None:
        super().__init__(code, detail)


class SignatureError(SigningError):
    """What we received is not acceptable: reject it, record the code, never forward it."""


class KeyUnavailableError(SigningError):
    def __init__(self, detail: str) -> None:
        super().__init__(KEY_UNAVAILABLE, detail)


class SigningConfigError(SigningError, ValueError):
    """Every problem in the ``signing:`` section, each prefixed with its path (``signing.keys.agency.pem_key``)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(CONFIG_INVALID, f"{len(problems)} problem(s) in signing config: " + "; ".join(problems))
