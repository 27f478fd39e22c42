"""Rate limits: one atomic Redis count per key and minute, with a bounded in-process fallback while Redis is away.

DRF's cache-based throttles read, modify and write a list in the cache: two web processes racing each other
both pass. Here one Lua script increments (or reads) a fixed one-minute window, so every process shares one
exact count.

Redis is not needed to send: the database is the queue. When a count cannot reach Redis, this process counts
on its own (same limits, per process, in a dict bounded to `LOCAL_MAX_KEYS` entries) and leaves Redis alone
for `REDIS_RETRY_SECONDS` instead of paying a failed connection on every request. The switch is logged once
each way.

Limits here: the plan's rate per API key (`PlanRateThrottle`), per client address (`ClientIpThrottle`,
`limit_client`), per device session (`devices.api`) and failed API-key checks per address (`record_failure`,
checked for valid keys by `PlanRateThrottle`). A limit of 0 turns that limit off.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings
from rest_framework import exceptions
from rest_framework.throttling import BaseThrottle

from xsender.middleware import client_ip
from xsender.redis import get_redis

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60
REDIS_RETRY_SECONDS = 5.0
LOCAL_MAX_KEYS = 10_000

# KEYS: the counters; ARGV[1]: their lifetime; ARGV[i + 1]: 1 to count this request on KEYS[i], 0 to read it only.
# Several counters in one round trip: a send's plan rate and its address's failed-key count together.
_SCRIPT = """
local counts = {}
for i, key in ipairs(KEYS) do
  if ARGV[i + 1] == '0' then
    counts[i] = tonumber(redis.call('GET', key) or '0')
  else
    counts[i] = redis.call('INCR', key)
    if counts[i] == 1 then redis.call('EXPIRE', key, ARGV[1]) end
  end
end
return counts
"""


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    count: int
    retry_after: int

    @property
    def exceeded(self) -> bool:
        return 0 < self.limit < self.count


class _LocalCounts:
    """Counts of this process, least recently used first: past `max_keys` the oldest go, so memory stays bounded."""

    def __init__(self, max_keys: int) -> None:
        self.max_keys = max_keys
        self._counts: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, key: str, amount: int) -> int:
        with self._lock:
            count = self._counts.pop(key, 0) + amount
            self._counts[key] = count
            while len(self._counts) > self.max_keys:
                self._counts.popitem(last=False)
            return count

    def __len__(self) -> int:
        return len(self._counts)


@dataclass
class _RedisHealth:
    retry_at: float = 0.0
    down: bool = False


_local = _LocalCounts(LOCAL_MAX_KEYS)
_health: dict[str, _RedisHealth] = {}
_health_lock = threading.Lock()


@lru_cache(maxsize=4)
def _script(client: redis.Redis) -> Any:
    return client.register_script(_SCRIPT)


def _redis_failed(health: _RedisHealth, exc: Exception) -> None:
    with _health_lock:
        health.retry_at = time.monotonic() + REDIS_RETRY_SECONDS
        if health.down:
            return
        health.down = True
    # The exception's kind only: its text may carry the server's address.
    logger.warning(
        "Redis is unreachable (%s): rate limits are counted in this process until it answers again "
        "(tried again every %.0f s).",
        type(exc).__name__,
        REDIS_RETRY_SECONDS,
    )


def _redis_answered(health: _RedisHealth) -> None:
    with _health_lock:
        if not health.down:
            return
        health.down = False
    logger.warning("Redis answers again: rate limits are counted in Redis again.")


def _counts(keys: list[str], amounts: list[int]) -> list[int]:
    """The counts of `keys` after adding `amounts` (0 or 1 each), in one round trip: in Redis, or in this process
    while Redis is away."""
    health = _health.setdefault(settings.REDIS_URL, _RedisHealth())
    if time.monotonic() >= health.retry_at:
        client = get_redis()
        try:
            counts = _script(client)(keys=keys, args=[WINDOW_SECONDS + 1, *amounts], client=client)
        except redis.RedisError as exc:
            _redis_failed(health, exc)
        else:
            _redis_answered(health)
            return [int(c) for c in counts]
    return [_local.add(key, amount) for key, amount in zip(keys, amounts, strict=True)]


def _states(wanted: list[tuple[str, int, int]]) -> list[RateLimitState]:
    """One state per (key, limit, amount); limits of 0 (off) are not counted."""
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    retry_after = max(1, WINDOW_SECONDS - int(now) % WINDOW_SECONDS)
    live = [(f"xsender:rl:{key}:{window}", amount) for key, limit, amount in wanted if limit > 0]
    counts = iter(_counts([k for k, _ in live], [a for _, a in live]) if live else [])
    return [RateLimitState(limit, next(counts) if limit > 0 else 0, retry_after) for _, limit, _ in wanted]


def hit(key: str, limit: int) -> RateLimitState:
    """Counts one request for `key` in the current minute."""
    return _states([(key, limit, 1)])[0]


def current(key: str, limit: int) -> RateLimitState:
    """The count of `key` in the current minute, without counting."""
    return _states([(key, limit, 0)])[0]


def failure_key(request: Any, scope: str) -> str:
    return f"fail:{scope}:{client_ip(request.META)}"


def limit_client(request: Any, scope: str, limit: int) -> None:
    """Counts one request of the caller's address under `scope`; raises DRF's Throttled (429) past `limit`."""
    state = hit(f"ip:{scope}:{client_ip(request.META)}", limit)
    if state.exceeded:
        raise exceptions.Throttled(wait=state.retry_after)


def record_failure(request: Any, scope: str, limit: int) -> RateLimitState:
    """Counts a failed check (a wrong key) of the caller's address; raises DRF's Throttled (429) past `limit`."""
    state = hit(failure_key(request, scope), limit)
    if 0 < limit <= state.count - 1:
        raise exceptions.Throttled(wait=state.retry_after)
    return state


class RateThrottle(BaseThrottle):
    """Counts each request against `limit_for(request, view)`: a (key, limit) pair, or None to let it pass."""

    def limit_for(self, request: Any, view: Any) -> tuple[str, int] | None:
        raise NotImplementedError

    def allow_request(self, request: Any, view: Any) -> bool:
        target = self.limit_for(request, view)
        if target is None:
            return True
        self.state = hit(*target)
        return not self.state.exceeded

    def wait(self) -> float:
        return float(self.state.retry_after)


class PlanRateThrottle(RateThrottle):
    """Uses `request.auth.rate_limit_key` and `request.auth.rate_limit` (the plan's requests per minute), and
    refuses a caller whose address is past its failed-key bound (a flood of wrong keys from it), in the same
    Redis round trip.

    Views with `rate_limit_exempt = True` (webhook receivers) are not counted.
    """

    def allow_request(self, request: Any, view: Any) -> bool:
        key = getattr(request.auth, "rate_limit_key", None)
        if key is None or getattr(view, "rate_limit_exempt", False):
            return True
        failures = settings.XSENDER_API_KEY_FAILURE_LIMIT
        rate, failed = _states([(key, int(request.auth.rate_limit), 1), (failure_key(request, "api-key"), failures, 0)])
        self.state = failed if 0 < failures <= failed.count else rate
        request.rate_limit = request._request.rate_limit = rate
        return not rate.exceeded and self.state is rate


class ClientIpThrottle(RateThrottle):
    """Per caller address, for unauthenticated endpoints: the view names `ip_rate_scope` and `ip_rate_setting`."""

    def limit_for(self, request: Any, view: Any) -> tuple[str, int]:
        limit = int(getattr(settings, view.ip_rate_setting))
        return f"ip:{view.ip_rate_scope}:{client_ip(request.META)}", limit
