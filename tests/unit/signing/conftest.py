"""One sandbox PKI and KeyRing per test session: RSA key generation is the slow part."""
from __future__ import annotations

import pytest

from hub.signing.keys import KeyRing
from hub.signing.pki import SandboxPKI, ensure_sandbox_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> SandboxPKI:
    return ensure_sandbox_pki(tmp_path_factory.mktemp("signing") / "pki")


@pytest.fixture(scope="session")
def keyring(pki: SandboxPKI) -> KeyRing:
    return KeyRing.from_config({
        "sandbox_pki": str(pki.directory),
        "keys": {"agency": {"sandbox": "agency"}, "agency-ec": {"sandbox": "agency-ec"},
                 "qlvb-sim": {"sandbox": "qlvb"}},
        "trust": {
            # what the qlvb simulator (or a partner) trusts from us: the agency certificates, pinned
            "agency": {"pinned": [str(pki.cert_path("agency")), str(pki.cert_path("agency-ec"))]},
            # chain-based trust: anything issued under the sandbox root
            "agency-ca": {"ca": [str(pki.root_ca_cert)]},
            "qlvb": {"sandbox": "qlvb"},
            "rs-only": {"pinned": [str(pki.cert_path("agency")), str(pki.cert_path("agency-ec"))], "jws_algs": ["RS256"]},
        },
    })

