"""``gateway dev`` keeps its log readable: periodic ticks at DEBUG, the demo merchant reused."""
from __future__ import annotations

import logging

import pytest

from shared.periodic_log import demote_periodic_ticks, skip_received_records

SCHEDULE = {"relay": {"task": "gateway.relay_outbox", "schedule": 2.0},
            "purge": {"task": "gateway.purge_idempotency_keys", "schedule": 3600.0}}


@pytest.fixture
def records():
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record)

    handler = Keep(level=logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    demote_periodic_ticks(SCHEDULE)
    yield seen, root
    root.removeHandler(handler)
    root.setLevel(old_level)


def _celery_lines():
    trace = logging.getLogger("celery.app.trace")
    trace.info("Task %(name)s[%(id)s] succeeded in %(runtime)ss: %(return_value)s",
               {"name": "gateway.relay_outbox", "id": "1", "runtime": 0.01, "return_value": 0})
    trace.info("Task %(name)s[%(id)s] succeeded in %(runtime)ss: %(return_value)s",
               {"name": "gateway.purge_idempotency_keys", "id": "2", "runtime": 0.01,
                "return_value": 0})
    logging.getLogger("celery.beat").info("Scheduler: Sending due task %s (%s)", "relay",
                                          "gateway.relay_outbox")
    logging.getLogger("celery.worker.strategy").info("Task gateway.process_payment[3] received")
    trace.info("Task %(name)s[%(id)s] succeeded in %(runtime)ss: %(return_value)s",
               {"name": "gateway.process_payment", "id": "3", "runtime": 0.01,
                "return_value": "completed"})
    trace.info("Task %(name)s[%(id)s] retry: %(exc)s",
               {"name": "gateway.process_payment", "id": "4", "exc": "OperationalError"})


def test_ticks_are_dropped_at_info_and_real_work_stays(records):
    seen, root = records
    root.setLevel(logging.INFO)
    _celery_lines()
    messages = [r.getMessage() for r in seen]
    assert not any("relay_outbox" in m for m in messages)
    assert any("purge_idempotency_keys" in m for m in messages)
    # A message's outcome stays at INFO; its "received" line (the outcome follows) does not.
    assert "Task gateway.process_payment[3] succeeded in 0.01s: completed" in messages
    assert "Task gateway.process_payment[4] retry: OperationalError" in messages
    assert not any(m.endswith("received") for m in messages)


def test_received_lines_show_at_debug(records):
    seen, root = records
    root.setLevel(logging.DEBUG)
    _celery_lines()
    received = [r for r in seen if r.getMessage().endswith("received")]
    assert [r.levelname for r in received] == ["DEBUG"]


def test_celery_builds_no_received_record_below_debug(records):
    # Celery's strategy logs "received" only when its logger is enabled for INFO.
    seen, root = records
    strategy = logging.getLogger("celery.worker.strategy")
    try:
        root.setLevel(logging.INFO)
        skip_received_records()
        assert not strategy.isEnabledFor(logging.INFO)
        assert strategy.isEnabledFor(logging.ERROR)   # its error lines still show
        root.setLevel(logging.DEBUG)
        skip_received_records()
        assert strategy.isEnabledFor(logging.INFO)
        _celery_lines()
        assert [r.levelname for r in seen if r.getMessage().endswith("received")] == ["DEBUG"]
    finally:
        strategy.setLevel(logging.NOTSET)


def test_ticks_show_at_debug(records):
    seen, root = records
    root.setLevel(logging.DEBUG)
    _celery_lines()
    ticks = [r for r in seen if "relay_outbox" in r.getMessage()]
    assert len(ticks) == 2 and {r.levelname for r in ticks} == {"DEBUG"}


def test_the_demo_merchant_is_reused_with_a_fresh_key_and_owner_password(tmp_path):
    from sqlalchemy import func, select

    from shared.config import Config
    from shared.db import Database
    from shared.merchants.models import Merchant
    from shared.migrate import upgrade
    from shared.tooling.devserver import demo_credentials

    config = Config.from_env({"GATEWAY_VAR_DIR": str(tmp_path)})
    upgrade(config.database_url)
    first = demo_credentials(config)
    second = demo_credentials(config)
    assert first.merchant_id == second.merchant_id
    assert (first.created, second.created) == (True, False)
    assert first.api_key != second.api_key and second.api_key.startswith("sk_test_")
    # One demo owner; only the password printed by the latest run signs in.
    assert first.owner_email == second.owner_email
    assert first.owner_password != second.owner_password
    from shared.users.service import InvalidCredentials, authenticate_password
    database = Database(config.database_url)
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Merchant)) == 1
        user = authenticate_password(session, config, second.owner_email, second.owner_password)
        assert user.role == "owner" and user.merchant_id == first.merchant_id
    with pytest.raises(InvalidCredentials), database.transaction() as session:
        authenticate_password(session, config, first.owner_email, first.owner_password)
    database.dispose()
