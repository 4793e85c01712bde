"""kombu's Redis transport, with one synchronous Redis client per channel instead of one per
command. kombu builds a new ``redis.Redis`` object (over the same connection pool) for every
ack, unacked-index update and restore; with redis-py 7 building one is a measurable share of
a worker's CPU (5.5 % of a webhooks worker's GIL samples on the fan-out bench, 2026-12-02).
The client is thread-safe (each command takes a pooled connection) and is rebuilt when kombu
replaces the channel's pool (after a fork or a lost connection). Used for ``redis://`` brokers
by ``shared.broker.celery_settings``."""
from __future__ import annotations

from contextlib import contextmanager

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _gateway_client: tuple | None = None   # (the pool it was built on, the client)

    @contextmanager
    def conn_or_acquire(self, client=None):
        if client:
            yield client
            return
        pool = self.pool
        cached = self._gateway_client
        if cached is None or cached[0] is not pool:
            cached = self._gateway_client = (pool, self._create_client())
        yield cached[1]


class Transport(kombu_redis.Transport):
    Channel = Channel
