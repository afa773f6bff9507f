"""When to try a failed delivery again: exponential backoff with jitter, capped by attempts and by age."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from hub.config.model import RetryPolicy


def backoff_delay(policy: RetryPolicy, attempts: int, retry_after: float | None = None,
                  rand: random.Random | None = None) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt. A partner's Retry-After is a floor."""
    base = min(policy.max_backoff, policy.backoff * policy.multiplier ** max(0, attempts - 1))
    spread = (rand or random).uniform(-policy.jitter, policy.jitter)
    delay = max(0.0, base * (1 + spread))
    if retry_after is not None:
        delay = max(delay, min(retry_after, policy.max_age))
    return delay


def next_attempt_at(policy: RetryPolicy, attempts: int, window_start: datetime, now: datetime,
                    retry_after: float | None = None) -> datetime | None:
    """None when the route's limits are reached: the delivery becomes a dead letter."""
    if attempts >= policy.max_attempts:
        return None
    at = now + timedelta(seconds=backoff_delay(policy, attempts, retry_after))
    if (at - window_start).total_seconds() > policy.max_age:
        return None
    return at
