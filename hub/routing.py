"""Routing: a pure function of the message and the config, so it runs in the gateway (one bus hop per delivery)."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from hub.config.model import Condition, HubConfig, RouteConfig
from hub.message import Message

_MISSING = object()


def field_value(message: Message, path: tuple[str, ...]) -> Any:
    """Value at ``payload.a.b`` / ``subject`` / ``source`` / ``headers.x``; _MISSING when absent."""
    head, rest = path[0], path[1:]
    root: Any = {"payload": message.payload, "headers": message.headers, "subject": message.subject,
                 "source": message.source, "type": message.type, "correlation_id": message.correlation_id}.get(head, _MISSING)
    for key in rest:
        if isinstance(root, dict) and key in root:
            root = root[key]
        elif isinstance(root, list) and key.isdigit() and int(key) < len(root):
            root = root[int(key)]
        else:
            return _MISSING
    return root


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def condition_holds(cond: Condition, message: Message) -> bool:
    value = field_value(message, cond.path)
    if cond.op == "exists":
        return (value is not _MISSING) == bool(cond.value)
    if value is _MISSING:
        return cond.op in ("ne", "not_in")
    if cond.op == "eq":
        return value == cond.value
    if cond.op == "ne":
        return value != cond.value
    if cond.op == "in":
        return value in cond.value
    if cond.op == "not_in":
        return value not in cond.value
    if cond.op == "prefix":
        return isinstance(value, str) and value.startswith(cond.value)
    if cond.op == "matches":
        return isinstance(value, str) and _regex(cond.value).search(value) is not None
    raise ValueError(f"unknown condition operator {cond.op}")


def route_matches(route: RouteConfig, message: Message) -> bool:
    return route.matches_type(message.type) and all(condition_holds(c, message) for c in route.when)


def select_routes(config: HubConfig, message: Message) -> list[RouteConfig]:
    """Every route that takes the message, in config order (fan-out when several match)."""
    return [r for r in config.routes if route_matches(r, message)]
