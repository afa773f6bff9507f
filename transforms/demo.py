"""The sandbox's demo transform for ``demo.ping`` towards the echo partner.

It maps the canonical ping to the echo partner's fields and refuses a ping whose text starts with ``poison``:
a stand-in for a message that a real transform cannot map, so that the sandbox (and the fault harness) can show
a poison message going to dead letters while the rest keeps flowing.
"""
from __future__ import annotations

from typing import Any

from hub import registry
from hub.contracts import TransformContext


@registry.transforms.register("demo_ping")
def demo_ping(payload: dict[str, Any], ctx: TransformContext) -> dict[str, Any]:
    text = payload["text"]
    if text.startswith("poison"):
        raise ValueError("the demo partner cannot take a text that starts with 'poison'")
    return {"text": text, "seq": payload.get("seq", 0)}
