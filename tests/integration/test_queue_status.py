"""GET /api/v1/queue/status for operators, and GET /metrics: fast and honest with big tables."""
from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import text

from shared.broker import make_celery, make_publisher
from shared.db import utcnow
from shared.events.service import record_event
from shared.webhooks import delivery, queue_status
from shared.webhooks.models import WebhookEndpoint, WebhookLog
from tests.harness.processes import wait_for
from tests.integration.test_foundation import assert_error

STATUS = "/api/v1/queue/status"


def status(client, operator):
    response = client.get(STATUS, headers=operator["headers"])
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def unrelayed(db):
    """A transaction whose outbox rows nobody publishes (as when the broker is down)."""
    return db.sessionmaker.begin()


def seed_endpoint_and_event(db, merchant_id):
    with unrelayed(db) as session:
        event = record_event(session, merchant_id, "payment.completed", {"id": "pay_q1"})
        endpoint = WebhookEndpoint(id="we_q1", merchant_id=merchant_id, url="http://x/",
                                   events=["*"], status="enabled", secret="whsec_AAAA")
        session.add(endpoint)
    return event.id, endpoint.id


def test_only_operators_see_queue_status(client, merchant, operator):
    assert_error(client.get(STATUS, headers=merchant["headers"]), 403)
    assert_error(client.get(STATUS), 401)
    body = status(client, operator)
    assert body["object"] == "queue_status"
    assert set(body["queues"]) == {"payments", "refunds", "webhooks", "maintenance",
                                  "notifications"}
    assert set(body["webhook_deliveries"]) >= {"pending", "retrying", "dead"}
    assert "backlog" in body["outbox"] and "online" in body["workers"]


def test_queue_depth_and_oldest_age_come_from_the_broker(client, operator, config,
                                                         flush_redis):
    publish = make_publisher(make_celery(config))
    for _ in range(3):
        publish("gateway.process_payment", ["pay_nobody"], "payments")
    time.sleep(0.3)
    publish("gateway.process_refund", ["rfnd_nobody"], "refunds")
    queues = status(client, operator)["queues"]
    assert queues["payments"]["depth"] == 3 and queues["refunds"]["depth"] == 1
    assert queues["payments"]["oldest_age_s"] >= 0.3 > queues["refunds"]["oldest_age_s"]
    assert queues["webhooks"] == {"depth": 0, "oldest_age_s": None}


def test_broker_down_is_reported_not_raised(client, operator, redis_server):
    redis_server.stop()
    try:
        started = time.monotonic()
        body = status(client, operator)
        elapsed = time.monotonic() - started
    finally:
        redis_server.start_on_same_port()
    assert body["queues"]["payments"]["depth"] is None and "broker_error" in body
    assert elapsed < 2


def test_delivery_counts_and_outbox_backlog(client, operator, db, merchant):
    event_id, endpoint_id = seed_endpoint_and_event(db, merchant["merchant_id"])
    now = utcnow()
    with unrelayed(db) as session:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        for status_, n in (("pending", 2), ("retrying", 3), ("dead", 4), ("succeeded", 5)):
            for _ in range(n):
                row = delivery.start_attempt(session, event_id, endpoint, 1, now)
                row.status = status_
                if status_ == "retrying":
                    row.next_retry_at = now - timedelta(seconds=30)
                if status_ == "dead":
                    session.flush()
                    delivery.mark_dead(session, row, "HTTP 500")
    body = status(client, operator)
    deliveries = body["webhook_deliveries"]
    assert (deliveries["pending"], deliveries["retrying"], deliveries["dead"]) == (2, 3, 4)
    assert deliveries["retry_lag_s"] >= 29
    # The 14 deliveries, written without a relay to publish them (the event was recorded
    # before the endpoint existed, and events have no fan-out job of their own any more).
    assert body["outbox"]["backlog"] == 14


def test_queue_status_stays_fast_with_many_delivery_rows(client, operator, db, merchant):
    event_id, endpoint_id = seed_endpoint_and_event(db, merchant["merchant_id"])
    rows = 100_000
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO webhook_logs (id, merchant_id, event_id, endpoint_id, attempt, status,"
            " created_at, updated_at) SELECT 'whl_' || lpad(g::text, 26, '0'), :m, :e, :w, 1,"
            " CASE WHEN g % 10 = 0 THEN 'dead' ELSE 'succeeded' END, now(), now()"
            " FROM generate_series(1, :n) AS g"),
            {"m": merchant["merchant_id"], "e": event_id, "w": endpoint_id, "n": rows})
        conn.execute(text("ANALYZE webhook_logs"))
    with db.sessionmaker.begin() as session:
        delivery.increment_counter(session, "dead", rows // 10)
    status(client, operator)  # warm up connections
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        body = status(client, operator)
        timings.append(time.perf_counter() - started)
    assert body["webhook_deliveries"]["dead"] == rows // 10
    assert body["webhook_deliveries"]["pending"] == 0
    assert sorted(timings)[2] < 0.1, timings


def test_workers_online_are_reported_without_blocking(client, operator, start_worker):
    status(client, operator)  # warm up connections (its time is not what is checked)
    started = time.monotonic()
    status(client, operator)
    # No worker is online, so a ping waits its whole timeout for replies: an answer sooner
    # than that did not wait on it (it runs in the background).
    assert time.monotonic() - started < queue_status.PING_TIMEOUT_S
    start_worker(queues="maintenance", concurrency=1)
    workers = wait_for(lambda: (w := status(client, operator)["workers"])["online"] and w,
                       timeout=20)
    assert workers["online"] >= 1 and workers["names"] and workers["checked_at"]


def test_metrics_are_prometheus_text_at_the_root(client, merchant, operator):
    client.get("/api/v1/payments", headers=merchant["headers"])
    response = client.get("/metrics", headers=operator["headers"])  # test_metrics.py: auth
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    text_ = response.get_data(as_text=True)
    assert 'gateway_http_request_duration_seconds_bucket{' in text_
    assert 'route="/api/v1/payments"' in text_
    assert "# TYPE gateway_webhook_deliveries_total counter" in text_
    assert "# TYPE gateway_task_outcomes_total counter" in text_
    assert client.get("/api/v1/metrics", headers=merchant["headers"]).status_code == 404


def test_webhook_log_row_counts_are_not_scanned(db):
    """The status counts use an index (the partial one of pending attempts, or the one on
    (status, next_retry_at)), never a scan of the table."""
    with db.engine.begin() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(r[0] for r in conn.execute(text(
            "EXPLAIN SELECT count(*) FROM webhook_logs WHERE status = 'pending'")))
    assert "Seq Scan" not in plan
    assert "ix_webhook_logs_status_next_retry_at" in plan or \
        "ix_webhook_logs_pending_endpoint_id" in plan
    assert WebhookLog.__tablename__ in plan
