"""Errors of ``hub.signing``, each with a stable code.

These codes are not in :mod:`hub.errors` yet (this package must not edit it), so the classes here are
plain exceptions carrying a ``code`` string, a ``detail`` and a suggested HTTP ``status``. ``CODES``
below holds the title and fix for each code, in the shape ``hub.errors._code`` takes, so that moving
them into ``hub/errors.py`` is a copy; after that, :class:`SignatureError` can subclass ``HubError``
without any caller changing (callers only read ``.code`` and ``.detail``).

    SigningError              code, detail, status
    ├── SignatureError        a signature, certificate or checksum we received is not acceptable
    ├── KeyUnavailableError   one of our signing keys cannot be used (missing, wrong password, expired)
    └── SigningConfigError    the ``signing:`` section is wrong; carries every problem found

Details never include key material, passwords or the signed content (it may hold personal data).
"""
from __future__ import annotations

from typing import NamedTuple


class CodeSpec(NamedTuple):
    status: int
    title: str
    fix: str


# Status is what an inbound endpoint answers the partner with; on the outbound path a verification
# failure is a permanent delivery error (dead letter), never retried.
CODES: dict[str, CodeSpec] = {
    "signature.malformed": CodeSpec(400, "Signed document cannot be read safely",
                                    ("Send well-formed XML/JSON without DTDs or entities.")),
    "signature.missing": CodeSpec(401, "No signature where one is required",
                                  ("Sign the document; the signature must be at the agreed location.")),
    "signature.invalid": CodeSpec(401, "Signature does not match the content",
                                  ("The content changed after signing, or was signed with another key; resend the original.")),
    "signature.wrapping": CodeSpec(401, "Signature does not cover the document as expected",
                                   ("One signature per document, at the agreed location, referencing the element that contains it.")),
    "signature.unexpected_references": CodeSpec(401, "Signature has an unexpected number of references",
                                                ("Sign with exactly the agreed number of references.")),
    "signature.algorithm_forbidden": CodeSpec(401, "Signature algorithm not allowed",
                                              ("Use RSA-SHA256 or ECDSA-SHA256 (or stronger); SHA-1, HMAC and 'none' are refused.")),
    "signature.weak_key": CodeSpec(401, "Signing key too weak",
                                   ("Use RSA of at least 2048 bits or ECDSA on P-256 or stronger.")),
    "signature.key_info_ambiguous": CodeSpec(401, "Signature names more than one signing key",
                                             ("Put exactly one signing certificate (plus its chain) in KeyInfo, nothing else.")),
    "signature.certificate_untrusted": CodeSpec(401, "Signing certificate not trusted for this partner",
                                                ("Sign with the certificate registered with the hub, or register the partner's CA.")),
    "signature.certificate_expired": CodeSpec(401, "Signing certificate expired",
                                              ("Renew the signing certificate and register the new one with the hub.")),
    "signature.certificate_not_yet_valid": CodeSpec(401, "Signing certificate not yet valid",
                                                    ("Check the signer's clock and the certificate's validity dates.")),
    "signature.unknown_key": CodeSpec(401, "Signing key id not known for this partner",
                                      ("Use a 'kid' registered for this partner in the hub's trust store.")),
    "signature.header_forbidden": CodeSpec(401, "Signature header not allowed",
                                           ("Remove jku/x5u/jwk headers and any 'crit' extension other than b64.")),
    "signature.no_trust_store": CodeSpec(500, "No trust store configured for this partner",
                                         ("Add the partner under signing.trust in config/hub.yaml.")),
    "signature.key_unavailable": CodeSpec(500, "Signing key cannot be used",
                                          ("Check the key's files, its password variable and its certificate's dates ('python run.py keys').")),
    "checksum.missing": CodeSpec(401, "Checksum missing", ("Send the checksum field the partner scheme requires.")),
    "checksum.malformed": CodeSpec(401, "Checksum is not valid hex of the right length",
                                   ("Send the checksum as hex of the scheme's digest length.")),
    "checksum.mismatch": CodeSpec(401, "Checksum does not match",
                                  ("Compute the checksum over the documented fields with the shared secret.")),
}

MALFORMED = "signature.malformed"
MISSING = "signature.missing"
INVALID = "signature.invalid"
WRAPPING = "signature.wrapping"
UNEXPECTED_REFERENCES = "signature.unexpected_references"
ALGORITHM_FORBIDDEN = "signature.algorithm_forbidden"
WEAK_KEY = "signature.weak_key"
KEY_INFO_AMBIGUOUS = "signature.key_info_ambiguous"
CERT_UNTRUSTED = "signature.certificate_untrusted"
CERT_EXPIRED = "signature.certificate_expired"
CERT_NOT_YET_VALID = "signature.certificate_not_yet_valid"
UNKNOWN_KEY = "signature.unknown_key"
HEADER_FORBIDDEN = "signature.header_forbidden"
NO_TRUST_STORE = "signature.no_trust_store"
KEY_UNAVAILABLE = "signature.key_unavailable"
CHECKSUM_MISSING = "checksum.missing"
CHECKSUM_MALFORMED = "checksum.malformed"
CHECKSUM_MISMATCH = "checksum.mismatch"
CONFIG_INVALID = "config.invalid"   # already in hub.errors


class SigningError(Exception):
    def __init__(self, code: str, detail: str | None = None) -> None:
        spec = CODES.get(code)
        self.code = code
        self.status = spec.status if spec else 500
        self.title = spec.title if spec else code
        self.detail = detail or self.title
        super().__init__(f"[{code}] {self.detail}")


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
