"""Pooled PostgreSQL connections are pinged only after sitting idle (shared.db)."""
from __future__ import annotations

import time
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, exc, text

from shared.db import normalize_url, ping_idle_connections


def _engine(postgres, idle_s: float):
    engine = create_engine(normalize_url(postgres.url), pool_size=1, max_overflow=0)
    ping_idle_connections(engine, idle_s=idle_s)
    return engine


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(postgres, pid: int) -> None:
    killer = create_engine(normalize_url(postgres.url))
    with killer.begin() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    killer.dispose()


@contextmanager
def _pooled_connection_killed(postgres, idle_s: float):
    """A one-connection pool whose connection PostgreSQL ended while it sat in the pool
    for 0.3 s; yields (engine, the ended backend's pid)."""
    engine = _engine(postgres, idle_s=idle_s)
    try:
        first = _backend_pid(engine)
        _terminate(postgres, first)
        time.sleep(0.3)
        yield engine, first
    finally:
        engine.dispose()


def test_an_idle_connection_that_died_is_replaced_without_an_error(postgres):
    with _pooled_connection_killed(postgres, idle_s=0.2) as (engine, first):
        assert _backend_pid(engine) != first  # pinged, found dead, replaced


def test_a_connection_back_in_use_at_once_is_not_pinged(postgres):
    with _pooled_connection_killed(postgres, idle_s=60) as (engine, first):
        with pytest.raises(exc.OperationalError):  # no ping: the dead connection was used
            _backend_pid(engine)
        assert _backend_pid(engine) != first        # and the pool then replaced it
