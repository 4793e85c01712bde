"""Per-process resources for tasks: config, database (with the outbox relay wired to this
worker's broker connection). Built lazily so every forked process gets its own pool."""
from __future__ import annotations

import os

import shared.models  # noqa: F401  (the model registry: every mapper before a flush)
from shared.broker import make_batch_publisher, make_publisher
from shared.db import Database
from shared.outbox import OutboxRelay

_state: dict = {}


def reset() -> None:
    db = _state.pop("db", None)
    if db is not None:
        db.engine.dispose(close=False)
    _state.clear()


def config():
    from worker.app import config as cfg
    return cfg


def db() -> Database:
    if _state.get("pid") != os.getpid():
        reset()
        _state["pid"] = os.getpid()
    database = _state.get("db")
    if database is None:
        from worker.app import celery
        # No pre-ping round trip per checkout (a payment checks out 4 connections): a
        # connection that died with a PostgreSQL restart fails its task with an
        # OperationalError, the pool is invalidated, and the task retries (gateway_task).
        database = Database(config().database_url, pool_size=8, max_overflow=24,
                            pool_pre_ping=False)
        # Publishing happens on the relay's thread, batched: a task never waits on the broker
        # after its commits (an unpublished row is picked up by the periodic relay).
        database.outbox_relay = OutboxRelay(database, make_publisher(celery), background=True,
                                            publish_many=make_batch_publisher(config()))
        _state["db"] = database
    return database
