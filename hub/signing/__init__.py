"""Signing and verification for everything that leaves or enters the hub (see docs/signing.md).

    pki        sandbox PKI generated on first use under var/pki
    keys       KeyRing: our signing keys and one trust store per partner, from the `signing:` config section
    policy     what we accept: algorithms, key sizes, certificate dates and chains
    xmldsig    enveloped XML-DSig (signxml) with wrapping/trust/algorithm defences
    jws        detached JWS (RS256/ES256) over the exact bytes sent
    checksums  VNPay / MoMo / PayGov checksum schemes
    errors     stable codes (to be merged into hub/errors.py)

Everything here is synchronous and does no I/O after the KeyRing is loaded.
"""
