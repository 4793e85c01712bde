"""Per-credential and per-IP rate limits in Redis, through the ``limits`` library.

``RATE_LIMIT`` (default ``100/second``) is the sustained rate and ``RATE_LIMIT_BURST``
(default 200) how many requests may arrive at once. They become one sliding-window limit of
``burst`` requests per ``burst / rate`` of the period (200 per 2 seconds by default): a client
may send 200 requests in a burst and 100 a second on average, and the window is shared by
every API process because it lives in Redis.

A busy credential does not cost one Redis round trip per request: each API process takes a
*lease* of a few requests at once (one Redis call counting them all in the shared window) and
spends it locally. A lease is at most 1/50 of the limit and 16 requests (so the default 200 per
2 s leases 4, and a limit under 100 leases 1: exact, one call per request), it lapses after
1/20 of the window, and near the limit (a lease refused) the process asks for single requests
again. One thread at a time takes a process's lease; the others count their requests singly
meanwhile. The window in Redis never counts fewer requests than were let through; at worst a
process holds a few counted requests unspent when its lease lapses, so a client sending at
its limit through several processes may be refused a few requests early.

The limiter fails open: if Redis cannot answer, the request goes through, the failure is
logged (at most once per pause) and counted in ``gateway_rate_limit_fail_open_total``. After a
failure it stops asking Redis for ``pause_s`` so an outage does not add a connect timeout to
every request.
"""
from __future__ import annotations

import logging
import math
import os
import threading
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerSecond, parse
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter
from prometheus_client import Counter

from shared.errors import ConfigurationError

log = logging.getLogger(__name__)

RATE_LIMIT_DECISIONS = Counter("gateway_rate_limit_decisions_total",
                               "Rate limiter answers", ["scope", "decision"])
RATE_LIMIT_FAIL_OPEN = Counter("gateway_rate_limit_fail_open_total",
                               "Requests let through because the limiter's Redis failed")

_OFF = ("", "off", "none", "0")
LEASE_SHARE = 50        # a lease is at most this fraction of the limit (1/50) ...
LEASE_MAX = 16          # ... and at most this many requests
LEASE_LIFE_SHARE = 20   # a lease lapses after 1/20 of the window
_MAX_LEASES = 4096      # identities with a live lease kept per process (per-IP limits)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    # Known only for a refused request: reading the window costs a second Redis round trip
    # (as much as the check itself), which every allowed request would pay for a header.
    remaining: int | None = None
    reset_after_s: int | None = None   # seconds until the window has room again
    enforced: bool = True               # False when the limiter failed open


def limit_item(rate: str, burst: int) -> RateLimitItem | None:
    """``100/second`` with burst 200 -> 200 per 2 seconds. None when limits are off."""
    if rate.strip().lower() in _OFF:
        return None
    try:
        sustained = parse(rate)
    except ValueError:
        raise ConfigurationError(
            f"RATE_LIMIT must look like '100/second' or 'off', got {rate!r}") from None
    if burst < sustained.amount:
        burst = sustained.amount
    seconds = sustained.get_expiry() * burst / sustained.amount
    return RateLimitItemPerSecond(burst, max(1, math.ceil(seconds)))


class RateLimiter:
    def __init__(self, item: RateLimitItem | None, storage_url: str,
                 pause_s: float = 5.0) -> None:
        self.item = item
        self.pause_s = pause_s
        self._paused_until = 0.0
        self._lock = threading.Lock()
        # (scope, identity) -> [requests left, lapses at (monotonic), single requests only]
        self._leases: dict[tuple[str, str], list] = {}
        self._leases_pid = os.getpid()
        self.lease_size = 1 if item is None else max(1, min(LEASE_MAX,
                                                             item.amount // LEASE_SHARE))
        self._lease_life_s = 0.0 if item is None else item.get_expiry() / LEASE_LIFE_SHARE
        if item is None:
            self._strategy = None
            return
        if storage_url.startswith(("redis://", "rediss://")):
            # Short timeouts: a limiter that waits on a dead Redis would refuse by slowness.
            storage = storage_from_string(storage_url, socket_timeout=0.25,
                                          socket_connect_timeout=0.25)
        else:
            # Development without Redis: per-process memory, which is enough on one laptop.
            storage = storage_from_string("memory://")
        self._strategy = SlidingWindowCounterRateLimiter(storage)

    @classmethod
    def from_config(cls, config) -> "RateLimiter":
        return cls(limit_item(config.rate_limit, config.rate_limit_burst), config.redis_url)

    @property
    def enabled(self) -> bool:
        return self._strategy is not None

    def hit(self, scope: str, identity: str) -> Decision | None:
        """Count one request of ``identity`` (a credential id or an IP). None when off."""
        strategy, item = self._strategy, self.item
        if strategy is None or item is None:
            return None
        if time.monotonic() < self._paused_until:
            RATE_LIMIT_FAIL_OPEN.inc()
            return Decision(True, item.amount, enforced=False)
        try:
            if self._take(strategy, item, scope, identity):
                RATE_LIMIT_DECISIONS.labels(scope, "allow").inc()
                return Decision(True, item.amount)
            stats = strategy.get_window_stats(item, scope, identity)
        except Exception as exc:  # any storage failure: let the request through
            self._fail_open(exc)
            return Decision(True, item.amount, enforced=False)
        RATE_LIMIT_DECISIONS.labels(scope, "limit").inc()
        reset_after = max(1, math.ceil(stats.reset_time - time.time()))
        return Decision(False, item.amount, max(0, stats.remaining), reset_after)

    def _take(self, strategy: SlidingWindowCounterRateLimiter, item: RateLimitItem,
              scope: str, identity: str) -> bool:
        """One request from this process's lease, or from the window in Redis."""
        if self.lease_size == 1:
            return strategy.hit(item, scope, identity)
        key, now = (scope, identity), time.monotonic()
        with self._lock:
            if self._leases_pid != os.getpid():   # a forked child: the parent's are not ours
                self._leases, self._leases_pid = {}, os.getpid()
            lease = self._leases.get(key)
            single = False
            if lease is not None and lease[1] > now:
                if lease[0] > 0:
                    lease[0] -= 1
                    return True
                single = lease[2]
            if not single:
                # This thread takes the process's lease. Until it is back, the others find an
                # empty one for single requests in its place: each taking a lease of its own,
                # a burst of 50 concurrent first requests counted 200 and the next request
                # was refused at a quarter of the limit.
                self._store(key, 0, now, single=True)
        if single:
            return strategy.hit(item, scope, identity)
        if strategy.hit(item, scope, identity, cost=self.lease_size):
            self._keep(key, self.lease_size - 1, now)
            return True
        # Near the limit: single requests until this lapses, as exact as without leases (the
        # placeholder above already says so).
        return strategy.hit(item, scope, identity)

    def _keep(self, key: tuple[str, str], left: int, now: float) -> None:
        with self._lock:
            self._store(key, left, now, single=False)

    def _store(self, key: tuple[str, str], left: int, now: float, *, single: bool) -> None:
        """Record a lease (``self._lock`` held)."""
        if len(self._leases) >= _MAX_LEASES:
            self._leases = {k: v for k, v in self._leases.items() if v[1] > now}
        self._leases[key] = [left, now + self._lease_life_s, single]

    def _fail_open(self, exc: Exception) -> None:
        RATE_LIMIT_FAIL_OPEN.inc()
        with self._lock:
            first = time.monotonic() >= self._paused_until
            self._paused_until = time.monotonic() + self.pause_s
        if first:
            log.warning("rate limiter: Redis unavailable (%s); letting requests through for "
                        "%.0f s", type(exc).__name__, self.pause_s)
