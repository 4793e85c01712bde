"""A worker that lost its broker tries again on the gateway's short waits (RECONNECT_WAITS),
not kombu's 2, 4, 6 ... 30 s, which left workers idle for seconds after Redis came back."""
from __future__ import annotations

import pytest
from kombu.exceptions import OperationalError

from shared.broker import RECONNECT_WAITS, make_celery
from shared.config import Config
from tests.harness.services import free_port


def _waits_before_giving_up(app, tries: int) -> list[float]:
    """The waits a connection to a closed port announces (Celery's consumer reconnects with
    ``ensure_connection(errback, max_retries, callback=...)``), until it gives up."""
    waits: list[float] = []
    conn = app.connection_for_read(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(OperationalError):
            conn.ensure_connection(lambda exc, interval: waits.append(interval), tries,
                                   callback=lambda: None)
    finally:
        conn.release()
    return waits


def test_the_worker_app_retries_a_lost_broker_within_seconds():
    from worker.app import celery

    assert _waits_before_giving_up(celery, 3) == [0.5, 1.0, 1.5]
    assert RECONNECT_WAITS["interval_max"] == 2.0


def test_apps_made_by_make_celery_retry_the_same_way():
    app = make_celery(Config.from_env({"REDIS_URL": "redis://127.0.0.1:1/0"}))
    assert _waits_before_giving_up(app, 2) == [0.5, 1.0]


def test_waits_a_caller_gives_are_kept():
    app = make_celery(Config.from_env({"REDIS_URL": "redis://127.0.0.1:1/0"}))
    waits: list[float] = []
    conn = app.connection_for_read(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(OperationalError):
            conn.ensure_connection(lambda exc, interval: waits.append(interval), 2,
                                   interval_start=0.1, interval_step=0.1, interval_max=0.1)
    finally:
        conn.release()
    assert waits == [0.1, 0.1]
