"""Per-key rate limit at the plan's rate, counted by one atomic Redis operation.

DRF's cache-based throttles read, modify and write a list in the cache: two web processes racing
each other both pass. Here one Lua script increments a fixed one-minute window and returns the count
and the window's remaining seconds, so every process shares one exact count.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from rest_framework.throttling import BaseThrottle

from xsender.redis import get_redis

_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
return {count, ttl}
"""
WINDOW_SECONDS = 60


@dataclass
class RateLimitState:
    limit: int
    count: int
    retry_after: int


def hit(key: str, limit: int) -> RateLimitState:
    """Counts one request for `key` in the current minute."""
    window = int(time.time() // WINDOW_SECONDS)
    count, ttl = get_redis().eval(_SCRIPT, 1, f"xsender:rl:{key}:{window}", WINDOW_SECONDS + 1)
    retry_after = max(1, min(int(ttl), WINDOW_SECONDS - int(time.time()) % WINDOW_SECONDS))
    return RateLimitState(limit=limit, count=int(count), retry_after=retry_after)


class PlanRateThrottle(BaseThrottle):
    """Uses `request.auth.rate_limit_key` and `request.auth.rate_limit` (the plan's requests per minute)."""

    def allow_request(self, request: Any, view: Any) -> bool:
        key = getattr(request.auth, "rate_limit_key", None)
        if key is None or getattr(view, "rate_limit_exempt", False):
            return True
        state = hit(key, int(request.auth.rate_limit))
        request.rate_limit = state
        request._request.rate_limit = state
        self._wait = state.retry_after
        return state.count <= state.limit

    def wait(self) -> float:
        return float(self._wait)
