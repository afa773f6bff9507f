"""One sandbox PKI and KeyRing per test session: RSA key generation is the slow part; xmlsec1 for the
independent check of our XML signatures."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from hub.signing.keys import KeyRing
from hub.signing.pki import SandboxPKI, ensure_sandbox_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> SandboxPKI:
    return ensure_sandbox_pki(tmp_path_factory.mktemp("signing") / "pki")


@pytest.fixture(scope="session")
def xmlsec1() -> str:
    """The path of ``xmlsec1`` (Debian package xmlsec1), the independent XML-DSig implementation.

    In CI (CI=true, root) it is installed with apt-get when missing, as tests/browser does for chromium;
    elsewhere the tests that need it skip with a notice saying what to install.
    """
    found = shutil.which("xmlsec1")
    if found:
        return found
    if os.environ.get("CI") == "true" and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True, timeout=600)
        done = subprocess.run(["apt-get", "install", "-y", "-qq", "xmlsec1"], capture_output=True, timeout=600)
        found = shutil.which("xmlsec1")
        if done.returncode == 0 and found:
            return found
        pytest.fail(f"could not install xmlsec1: {done.stderr.decode(errors='replace')[-500:]}")
    pytest.skip("xmlsec1 not installed, so our XML signatures are not checked by an independent implementation: "
                "apt-get install -y xmlsec1 (CI=true installs it)")


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

