"""What a signature made or checked leaves behind: the evidence recorded in the trace, and the signed body.

Plain dataclasses, no cryptography imports: connectors import :class:`SignedBody` to send it as-is.
Evidence holds no personal data: our certificates' and partners' subjects name organisations, and the
document appears only as the SHA-256 of the exact bytes sent or received.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Evidence:
    action: str            # signed | verified
    key: str               # our key name (signed) or the partner whose trust store accepted it (verified)
    format: str            # xmldsig | jws
    algorithm: str         # rsa-sha256, ecdsa-sha256 (XML-DSig); RS256, ES256 (JWS)
    subject: str           # the signing certificate's subject (RFC 4514)
    serial: str            # its serial number, hex
    thumbprint: str        # its x5t#S256 (base64url SHA-256 of the DER certificate)
    sha256: str            # hex digest of the exact bytes signed and sent, or received and verified
    # what `run.py evidence` exports and checks offline; never in the trace (the bytes may hold personal data,
    # stored encrypted beside the hop): the exact bytes, the detached JWS (XML-DSig is inside the bytes),
    # the signer's certificate then its chain (PEM), the trust anchors it was checked against (PEM)
    data: bytes | None = field(default=None, repr=False, compare=False)
    signature: str | None = field(default=None, repr=False, compare=False)
    certificates: tuple[str, ...] = field(default=(), repr=False, compare=False)
    anchors: tuple[str, ...] = field(default=(), repr=False, compare=False)
    location: str | None = field(default=None, repr=False, compare=False)  # XML-DSig: XPath of ds:Signature
    namespaces: tuple[tuple[str, str], ...] = field(default=(), repr=False, compare=False)  # for `location`

    def __str__(self) -> str:
        """The hop's detail: one line, stable key=value order, greppable in `run.py trace`."""
        return (f"key={self.key} format={self.format} alg={self.algorithm} serial={self.serial} "
                f"x5t#S256={self.thumbprint} sha256={self.sha256} subject={self.subject}")


@dataclass(frozen=True)
class SignedBody:
    """What a ``sign`` step hands the connector: send ``data`` byte for byte with ``headers`` added.

    XML-DSig: ``data`` is the signed document (re-serialising it would break the signature).
    JWS: ``data`` is the JSON body exactly as signed and ``headers`` carries the detached JWS.
    """
    data: bytes
    content_type: str
    evidence: Evidence
    headers: dict[str, str] = field(default_factory=dict)
