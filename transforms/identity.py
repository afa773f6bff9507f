"""The identity transform: the canonical payload as it is (pass-through routes)."""
from __future__ import annotations

from typing import Any

from hub import registry
from hub.contracts import TransformContext


@registry.transforms.register("identity")
def identity(payload: Any, ctx: TransformContext) -> Any:
    return payload
