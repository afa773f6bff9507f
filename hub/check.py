"""``run.py check --production``: what is fine in the sandbox but must never reach a province's servers."""
from __future__ import annotations

import hashlib
from typing import Any, Iterator

from hub.config.model import HubConfig

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
    return problems
