"""Promise 4 end to end: real API, real Celery workers and beat, real PostgreSQL and Redis,
and local receivers. Every event reaches every subscribed endpoint at least once, signed,
or ends dead with its attempts on record."""
from __future__ import annotations

import signal
import time
from datetime import datetime

from sqlalchemy import select
from standardwebhooks import Webhook

from shared.webhooks.models import WebhookLog
from tests.factories import create_payment, create_webhook_endpoint
from tests.harness.processes import wait_for
from tests.harness.receiver import Answer

FAST = {"WEBHOOK_RETRY_SCHEDULE": "1,1,1"}


def webhooks_worker(start_worker, **env):
    return start_worker(queues="webhooks", pool="threads", concurrency=8, **{**FAST, **env})


def endpoint(client, merchant, url, events=("*",)):
    return create_webhook_endpoint(client, merchant["headers"], url=url, events=list(events))


def pay(client, merchant, token="tok_success"):
    return create_payment(client, merchant["headers"], amount=1500, token=token)


def attempts(db, event_id=None):
    with db.transaction() as session:
        query = select(WebhookLog).order_by(WebhookLog.attempt)
        if event_id:
            query = query.where(WebhookLog.event_id == event_id)
        return session.scalars(query).all()


def received(receiver, n, timeout=20.0):
    return wait_for(lambda: receiver.received() if len(receiver.received()) >= n else None,
                    timeout, message=f"{n} deliveries at {receiver.url}")


def created_at(event: dict) -> float:
    return datetime.fromisoformat(event["created_at"].replace("Z", "+00:00")).timestamp()


def test_completed_payment_reaches_its_merchant_signed_within_a_second(
        live_client, make_merchant, start_worker, make_receiver):
    start_worker(queues="payments,maintenance")
    webhooks_worker(start_worker)
    acme, other = make_merchant("Acme"), make_merchant("Other")
    acme_receiver, other_receiver = make_receiver(), make_receiver()
    acme_endpoint = endpoint(live_client, acme, acme_receiver.url, ["payment.completed"])
    endpoint(live_client, other, other_receiver.url, ["*"])

    payment = pay(live_client, acme)
    delivery = received(acme_receiver, 1)[0]
    event = Webhook(acme_endpoint["secret"]).verify(delivery.body, delivery.headers)
    assert event["type"] == "payment.completed" and event["object"] == "event"
    assert event["data"]["object"]["id"] == payment["id"]
    assert event["data"]["object"]["status"] == "completed"
    assert delivery.headers["webhook-id"] == event["id"]
    assert delivery.headers["X-Webhook-Signature"].startswith(
        f"t={delivery.headers['webhook-timestamp']},v1=")
    assert delivery.headers["Content-Type"] == "application/json"
    assert delivery.wall - created_at(event) < 1.0

    # The other merchant subscribes to everything and still sees none of Acme's events.
    other_payment = pay(live_client, other)
    seen = received(other_receiver, 3)  # created, processing, completed
    time.sleep(0.5)
    objects = {d.event["data"]["object"]["id"] for d in other_receiver.received()}
    assert objects == {other_payment["id"]}
    assert {d.event["type"] for d in seen} >= {"payment.created", "payment.completed"}
    assert len(acme_receiver.received()) == 1


def test_a_receiver_that_fails_twice_gets_the_same_event_three_times(
        live_client, merchant, start_worker, start_beat, make_receiver, db):
    webhooks_worker(start_worker)
    start_beat()
    receiver = make_receiver()
    receiver.answers = [Answer(500, b"boom"), Answer(500, b"boom again")]
    secret = endpoint(live_client, merchant, receiver.url, ["payment.created"])["secret"]
    pay(live_client, merchant)

    deliveries = received(receiver, 3)
    assert len({d.headers["webhook-id"] for d in deliveries}) == 1
    for d in deliveries:
        Webhook(secret).verify(d.body, d.headers)
    gaps = [b.at - a.at for a, b in zip(deliveries, deliveries[1:], strict=False)]
    assert all(0.85 <= gap < 6 for gap in gaps), gaps  # 1 s +/- jitter, due within ~5 s

    logs = wait_for(lambda: (rows := attempts(db)) and rows[-1].status == "succeeded" and rows)
    assert [(r.attempt, r.response_status, r.status) for r in logs] == [
        (1, 500, "failed"), (2, 500, "failed"), (3, 200, "succeeded")]
    assert logs[0].response_body == "boom" and logs[0].error == "HTTP 500"
    assert all(r.response_ms is not None for r in logs)
    assert len(receiver.received()) == 3


def test_a_receiver_that_always_fails_ends_dead_and_a_manual_retry_sends_again(
        live_client, merchant, start_worker, start_beat, make_receiver, db):
    webhooks_worker(start_worker)
    start_beat()
    receiver = make_receiver(Answer(503, b"down"))
    endpoint(live_client, merchant, receiver.url, ["payment.created"])
    pay(live_client, merchant)

    logs = wait_for(lambda: (rows := attempts(db)) and rows[-1].status == "dead" and rows,
                    timeout=30)
    assert [(r.attempt, r.status) for r in logs] == [
        (1, "failed"), (2, "failed"), (3, "failed"), (4, "dead")]
    assert len(receiver.received()) == 4
    listed = live_client.get("/api/v1/webhook_logs?status=dead",
                             headers=merchant["headers"]).get_json()["data"]
    assert [r["id"] for r in listed] == [logs[-1].id]
    assert listed[0]["next_retry_at"] is None and listed[0]["response_status"] == 503

    receiver.default = Answer(200)
    response = live_client.post(f"/api/v1/webhook_logs/{logs[-1].id}/retry",
                                headers=merchant["headers"])
    assert response.status_code == 201, response.get_data(as_text=True)
    retry = response.get_json()
    assert retry["attempt"] == 5 and retry["status"] == "pending"
    deliveries = received(receiver, 5)
    assert deliveries[-1].headers["webhook-id"] == deliveries[0].headers["webhook-id"]
    final = wait_for(lambda: (rows := attempts(db)) and rows[-1].status == "succeeded" and rows)
    assert [(r.attempt, r.status) for r in final][-1] == (5, "succeeded")


def test_a_410_disables_the_endpoint_and_retry_after_is_honoured(
        live_client, make_merchant, start_worker, start_beat, make_receiver, db):
    webhooks_worker(start_worker)
    start_beat()
    gone = make_receiver(Answer(410))
    slow = make_receiver()
    slow.answers = [Answer(429, b"later", headers={"Retry-After": "3"})]
    first, second = make_merchant("Gone"), make_merchant("Busy")
    gone_endpoint = endpoint(live_client, first, gone.url, ["payment.created"])
    endpoint(live_client, second, slow.url, ["payment.created"])
    pay(live_client, first)
    pay(live_client, second)

    received(gone, 1)
    state = wait_for(lambda: (body := live_client.get(
        f"/api/v1/webhook_endpoints/{gone_endpoint['id']}",
        headers=first["headers"]).get_json())["status"] == "disabled" and body)
    assert "410" in state["disabled_reason"]
    pay(live_client, first)  # a disabled endpoint gets nothing more

    deliveries = received(slow, 2)
    assert 2.9 <= deliveries[1].at - deliveries[0].at < 8
    time.sleep(1)
    assert len(gone.received()) == 1
    dead = [r for r in attempts(db) if r.endpoint_id == gone_endpoint["id"]]
    assert [(r.attempt, r.status, r.response_status) for r in dead] == [(1, "dead", 410)]


def test_killing_the_worker_between_attempts_loses_no_retry(
        live_client, merchant, start_worker, start_beat, make_receiver, db):
    worker = webhooks_worker(start_worker, WEBHOOK_RETRY_SCHEDULE="2")
    start_beat()
    receiver = make_receiver()
    receiver.answers = [Answer(500)]
    endpoint(live_client, merchant, receiver.url, ["payment.created"])
    pay(live_client, merchant)

    wait_for(lambda: (rows := attempts(db)) and rows[0].status == "retrying")
    worker.kill(signal.SIGKILL)
    webhooks_worker(start_worker, WEBHOOK_RETRY_SCHEDULE="2")
    deliveries = received(receiver, 2, timeout=30)
    assert deliveries[0].headers["webhook-id"] == deliveries[1].headers["webhook-id"]
    logs = wait_for(lambda: (rows := attempts(db)) and rows[-1].status == "succeeded" and rows)
    assert [(r.attempt, r.status) for r in logs] == [(1, "failed"), (2, "succeeded")]


def test_restarting_redis_between_attempts_loses_no_retry(
        live_client, merchant, start_worker, start_beat, make_receiver, db, redis_server):
    webhooks_worker(start_worker, WEBHOOK_RETRY_SCHEDULE="2")
    start_beat()
    receiver = make_receiver()
    receiver.answers = [Answer(500)]
    endpoint(live_client, merchant, receiver.url, ["payment.created"])
    pay(live_client, merchant)

    wait_for(lambda: (rows := attempts(db)) and rows[0].status == "retrying")
    redis_server.stop()
    time.sleep(2.5)  # the retry falls due while the broker is gone
    redis_server.start_on_same_port()
    deliveries = received(receiver, 2, timeout=45)
    assert deliveries[0].headers["webhook-id"] == deliveries[1].headers["webhook-id"]
    logs = wait_for(lambda: (rows := attempts(db)) and rows[-1].status == "succeeded" and rows)
    assert [r.status for r in logs] == ["failed", "succeeded"]


def test_an_endpoint_that_never_answers_does_not_delay_another_merchant(
        live_client, make_merchant, start_worker, make_receiver, db):
    webhooks_worker(start_worker, WEBHOOK_TIMEOUT_S="5")
    stuck, healthy = make_merchant("Stuck"), make_merchant("Healthy")
    hanging = make_receiver(Answer(hang_s=30))
    fine = make_receiver()
    endpoint(live_client, stuck, hanging.url, ["payment.created"])
    endpoint(live_client, healthy, fine.url, ["payment.created"])

    for _ in range(10):
        pay(live_client, stuck)
    received(hanging, 4)  # the per-endpoint cap: 4 in flight, the rest wait their turn
    sent_at = time.time()
    pay(live_client, healthy)
    delivery = received(fine, 1, timeout=5)[0]
    assert delivery.wall - sent_at < 1.0
    assert len(hanging.received()) == 4
