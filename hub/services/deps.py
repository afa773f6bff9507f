"""A dependency provider lending every service the process's one HubRuntime."""
from __future__ import annotations

from nameko.extensions import DependencyProvider

from hub.runtime import HubRuntime


class Runtime(DependencyProvider):
    """Built by the runner before the containers start; injected as-is (no per-worker construction)."""

    def __init__(self, runtime: HubRuntime) -> None:
        self._runtime = runtime

    def get_dependency(self, worker_ctx):  # noqa: ANN001, ANN201 - nameko's signature
        return self._runtime
