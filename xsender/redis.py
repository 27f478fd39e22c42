"""One Redis connection pool per process, from REDIS_URL (or the embedded server's socket).

The web process asks Redis for every request's rate limit: a Redis that is away must cost it milliseconds,
not seconds (a rate-limit script answers in well under a millisecond). Timeouts are short; a refused or
dropped connection is tried once more (a pooled connection that went stale when Redis restarted is replaced
on that retry), a timeout never is, and never with redis-py's default ten attempts.
"""

from functools import lru_cache

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

CONNECT_TIMEOUT = 0.5
COMMAND_TIMEOUT = 0.5


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_timeout=COMMAND_TIMEOUT,
        socket_connect_timeout=CONNECT_TIMEOUT,
        retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
        health_check_interval=30,
    )


def get_redis() -> redis.Redis:
    return _client(settings.REDIS_URL)
