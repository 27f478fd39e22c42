"""PostgreSQL as Django's backend, with its per-request health check paid only after a pause.

Django's `CONN_HEALTH_CHECKS` runs `SELECT 1` before the first query of every request that reuses a connection: one
more round trip on every API request and provider callback (a quarter of a single send's statements). A connection
that served a request without an error less than `XSENDER_DB_CHECK_AFTER` seconds ago (default 1) is taken as
proven; after a longer pause it is checked as Django checks it. A database restarted within that second can fail
one request per connection; Django then closes that connection at the request's end (its `errors_occurred` rule)
and the next request opens a new one.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    proven_at = float("-inf")  # when a request last ended with this connection working

    def close_if_unusable_or_obsolete(self) -> None:
        # Called at each request's start and end. At the end, `health_check_done` says the request used the
        # connection (the first query checks or skips), and `errors_occurred` whether anything failed on it.
        used = self.connection is not None and self.health_check_done and not self.errors_occurred
        super().close_if_unusable_or_obsolete()
        if used and self.connection is not None:
            self.proven_at = time.monotonic()

    def close_if_health_check_failed(self) -> None:
        recent = time.monotonic() - self.proven_at < settings.XSENDER_DB_CHECK_AFTER
        if self.connection is not None and self.health_check_enabled and not self.health_check_done and recent:
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def close(self) -> None:
        super().close()
        self.proven_at = float("-inf")
