"""Signing and verification for everything that leaves or enters the hub (see docs/signing.md).

    pki        sandbox PKI generated on first use under var/pki
    keys       KeyRing: our signing keys and one trust store per partner, from the `signing:` config section
    policy     what we accept: algorithms, key sizes, certificate dates and chains
    xmldsig    enveloped XML-DSig (signxml) with wrapping/trust/algorithm defences
    jws        detached JWS (RS256/ES256) over the exact bytes sent
    checksums  VNPay / MoMo / PayGov checksum schemes
    errors     SigningError (a HubError) and its subclasses; the codes are in hub/errors.py
    config     checks of the signing: section and of routes' sign steps (file/line via the config loader)
    service    SigningService: the route sign step, inbound verification, one KeyRing per process
    evidence   Evidence (signed/verified hops) and SignedBody (what connectors send as-is)

Everything here is synchronous and does no I/O after the KeyRing is loaded.
"""
