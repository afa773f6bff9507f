"""``run.py check --production``: what is fine in the sandbox but must never reach a province's servers."""
from __future__ import annotations

import hashlib
import os
import re
from typing import Any, Iterator

from hub.config.load import SECRET_OPTION
from hub.config.model import HubConfig
from hub.store import codec
from hub.store import tables_access_log as access_log

SANDBOX_TOKENS = ("sandbox-demo-token",)
_SANDBOX_HASHES = {hashlib.sha256(t.encode()).hexdigest() for t in SANDBOX_TOKENS}


def _urls(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _urls(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _urls(v, f"{path}[{i}]")
    elif isinstance(value, str) and value.startswith("http://"):
        yield path, value


def production_problems(config: HubConfig) -> list[str]:
    problems = []
    if config.settings.sandbox:
        problems.append("hub.yaml: hub.sandbox is true\n    fix: set sandbox: false so connectors reach the real partners")
    if config.settings.simulators and config.settings.sandbox:
        problems.append("hub.yaml: partner simulators are enabled\n    fix: set hub.simulators.enabled: false")
    for client in config.clients.values():
        if client.token_sha256 in _SANDBOX_HASHES:
            problems.append(f"hub.yaml: client {client.id} uses the public sandbox token\n"
                            f"    fix: issue a new token and give token: ${{env:NAME}} or its token_sha256")
        if client.webhook_url and client.webhook_url.startswith("http://"):
            problems.append(f"hub.yaml: client {client.id} webhook is plain http://\n    fix: use https://")
    signing = config.signing or {}
    if signing.get("sandbox_pki"):
        problems.append("hub.yaml: signing.sandbox_pki is set (test CA, keys on disk unencrypted)\n"
                        "    fix: remove it; give keys as pem_key/pem_cert/chain or pkcs12 with password_env")
    for group in ("keys", "trust"):
        for name, spec in (signing.get(group) or {}).items():
            if isinstance(spec, dict) and "sandbox" in spec:
                problems.append(f"hub.yaml: signing.{group}.{name} uses the sandbox PKI\n"
                                f"    fix: name the real certificate files (see docs/signing.md)")
    for name, spec in config.connectors.items():
        for path, _url in _urls(spec.options, name):
            problems.append(f"connectors.yaml: {path} is a plain http:// URL\n    fix: use the partner's https:// address")
    return problems + secret_problems(config)


_VERIFY_OFF = re.compile(r"^(?:verify|verify_[a-z_]+|[a-z_]+_verify|check_[a-z_]*signature|ssl_verify|tls_verify)$")
_VERIFY_ON_WHEN_FALSE = re.compile(r"^(?:insecure|skip_verify|skip_[a-z_]*verif[a-z_]*|no_verify|allow_unsigned)$")


def _options(value: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (dict, list)):
                yield from _options(v, f"{path}.{k}")
            else:
                yield f"{path}.{k}", str(k), v


def secret_problems(config: HubConfig) -> list[str]:
    """Sandbox secrets (the ``${env:X:-sandbox-...}`` defaults), verification switched off, the sandbox store key.
    Problems name the option, never its value."""
    problems = []
    for name, spec in config.connectors.items():
        for path, key, value in _options(spec.options, name):
            if SECRET_OPTION.search(key) and isinstance(value, str) and "sandbox" in value.lower():
                problems.append(f"connectors.yaml: {path} is the sandbox default\n"
                                f"    fix: export the partner's real secret in the variable named in connectors.yaml")
            if (_VERIFY_OFF.match(key) and value is False) or (_VERIFY_ON_WHEN_FALSE.match(key) and value is True):
                problems.append(f"connectors.yaml: {path} switches verification off\n"
                                f"    fix: remove it; the hub verifies every partner's TLS, signature and checksum")
    for client in config.clients.values():
        if client.webhook_secret and "sandbox" in client.webhook_secret.lower():
            problems.append(f"hub.yaml: client {client.id} webhook secret is the sandbox default\n"
                            f"    fix: export a random secret in the variable named in hub.yaml")
    if not (os.environ.get(codec.ENV_KEYS, "").strip() or os.environ.get(codec.ENV_FILE)
            or config.settings.store_keys_file):
        problems.append("hub.yaml: payloads at rest would be encrypted with the sandbox store key\n"
                        f"    fix: export {codec.ENV_KEYS} (Fernet keys, newest first) or set hub.store_keys.file")
    if not os.environ.get(access_log.ENV_KEYS, "").strip():
        problems.append("environment: the citizen access log would use the public sandbox digest key (a copy of the "
                        "database would give the citizens' ids back)\n"
                        f"    fix: export {access_log.ENV_KEYS} (a long random secret, the same on every hub process; "
                        "keep an old one after the new while its rows are kept)")
    return problems
