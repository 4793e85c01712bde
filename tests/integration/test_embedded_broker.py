"""The development broker (kombu's SQLAlchemy transport on a SQLite file): a real worker takes
what the API publishes, the queue status counts what waits, and taken rows are purged."""
from __future__ import annotations

import json
import sqlite3

from shared import embedded_broker
from shared.broker import QUEUES, make_celery, make_publisher
from shared.config import Config
from shared.payments.models import Payment
from tests.factories import create_payment
from tests.harness.processes import wait_for


def _embedded(base_env, tmp_path) -> dict:
    return {**base_env, "REDIS_URL": "", "GATEWAY_VAR_DIR": str(tmp_path),
            "CELERY_BROKER_URL": embedded_broker.default_url(str(tmp_path))}


def test_defaults_choose_the_sqlite_broker_under_var(tmp_path):
    config = Config.from_env({"GATEWAY_VAR_DIR": str(tmp_path)})
    assert config.embedded_broker
    assert config.broker_url == f"gwsqla+sqlite:///{tmp_path}/broker.sqlite"
    assert embedded_broker.path_of(config.broker_url) == f"{tmp_path}/broker.sqlite"


def test_published_messages_are_counted_then_taken_and_purged(base_env, tmp_path):
    config = Config.from_env(_embedded(base_env, tmp_path))
    publish = make_publisher(make_celery(config))
    for _ in range(3):
        publish("gateway.relay_outbox", [], "maintenance")
    depths = embedded_broker.queue_depths(config.broker_url, QUEUES)
    assert depths["maintenance"]["depth"] == 3
    assert depths["maintenance"]["oldest_age_s"] >= 0
    assert depths["payments"] == {"depth": 0, "oldest_age_s": None}
    path = embedded_broker.path_of(config.broker_url)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        payload = conn.execute("SELECT payload FROM kombu_message LIMIT 1").fetchone()[0]
        # One whole JSON document per row, written in a transaction.
        assert json.loads(payload)["headers"]["task"] == "gateway.relay_outbox"
        conn.execute("UPDATE kombu_message SET visible = 0 WHERE id IN "
                     "(SELECT id FROM kombu_message ORDER BY id LIMIT 2)")
    assert embedded_broker.purge_taken(config.broker_url) == 2
    assert embedded_broker.queue_depths(config.broker_url, QUEUES)["maintenance"]["depth"] == 1
    assert embedded_broker.problem(config.broker_url) is None


def test_a_real_worker_processes_a_payment_through_the_sqlite_broker(
        base_env, tmp_path, db, make_merchant, start_worker):
    from api import create_app
    env = _embedded(base_env, tmp_path)
    config = Config.from_env(env)
    start_worker(**{k: v for k, v in env.items() if k not in base_env or base_env[k] != v})
    app = create_app(config, db=db)
    merchant = make_merchant()
    client = app.test_client()
    pid = create_payment(client, merchant["headers"], amount=1500)["id"]

    def status():
        with db.transaction() as session:
            return session.get(Payment, pid).status
    wait_for(lambda: status() == "completed", timeout=30, message="payment completed")
    ready = client.get("/ready").get_json()
    assert ready["checks"]["broker"] == "ok"
