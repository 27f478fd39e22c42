"""One Redis connection pool per process, from REDIS_URL (or the embedded server's socket)."""

from functools import lru_cache

import redis
from django.conf import settings


@lru_cache(maxsize=1)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=30)


def get_redis() -> redis.Redis:
    return _client(settings.REDIS_URL)
