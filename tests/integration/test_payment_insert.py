"""POST /payments written by one statement (shared.payments.insert): what it writes, that the
payment JSON is the same everywhere, and that the batched publisher's messages are the ones
Celery itself would send."""
from __future__ import annotations

import base64
import json

from sqlalchemy import func, select

from shared.idempotency.models import IdempotencyKey
from shared.outbox import OutboxMessage
from shared.payments.models import Payment
from shared.webhooks.models import Event

BODY = {"amount": 2500, "currency": "INR", "description": "one statement",
        "customer": {"email": "a@example.com"}, "metadata": {"order": "42"},
        "payment_method": {"type": "card", "token": "tok_success"}}


def test_answer_event_and_stored_answer_are_the_same_json(client, merchant, db, published):
    response = client.post("/api/v1/payments", json=BODY,
                           headers={**merchant["headers"], "Idempotency-Key": "same-json"})
    assert response.status_code == 201
    answer = response.get_json()
    assert answer["status"] == "pending" and answer["amount"] == 2500
    assert answer["customer"] == {"email": "a@example.com"}
    fetched = client.get(f"/api/v1/payments/{answer['id']}", headers=merchant["headers"])
    assert fetched.get_json() == answer
    with db.transaction() as session:
        event = session.scalars(select(Event).where(Event.object_id == answer["id"])).one()
        key = session.scalars(select(IdempotencyKey).where(
            IdempotencyKey.key == "same-json")).one()
        outbox = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert event.type == "payment.created" and event.data == {"object": answer}
    assert key.status == "done" and key.response_status == 201
    assert json.loads(key.response_body) == answer
    assert [(m.task, m.args) for m in outbox] == [("gateway.process_payment", [answer["id"]])]
    # Handed to the relay once committed (the test app publishes synchronously).
    assert published == [("gateway.process_payment", [answer["id"]], "payments")]


def test_the_same_statement_writes_attempt_1_for_each_subscribed_endpoint(
        client, merchant, db, published):
    from shared.webhooks.models import WebhookLog
    h = merchant["headers"]
    wanted = [client.post("/api/v1/webhook_endpoints", headers=h, json={
        "url": f"http://localhost:9/{i}", "events": events}).get_json()["id"]
        for i, events in enumerate([["*"], ["payment.created"]])]
    client.post("/api/v1/webhook_endpoints", headers=h, json={
        "url": "http://localhost:9/other", "events": ["refund.created"]})
    answer = client.post("/api/v1/payments", json=BODY, headers=h).get_json()
    with db.transaction() as session:
        event = session.scalars(select(Event).where(Event.object_id == answer["id"])).one()
        logs = session.scalars(select(WebhookLog).order_by(WebhookLog.endpoint_id)).all()
        outbox = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(log.event_id, log.endpoint_id, log.attempt, log.status) for log in logs] == [
        (event.id, endpoint_id, 1, "pending") for endpoint_id in sorted(wanted)]
    assert all(log.next_retry_at > log.created_at for log in logs)  # republished if lost
    assert sorted((m.task, tuple(m.args)) for m in outbox) == sorted(
        [("gateway.process_payment", (answer["id"],))]
        + [("gateway.deliver_webhook", (log.id,)) for log in logs])
    assert sorted(published) == sorted(
        [("gateway.process_payment", [answer["id"]], "payments")]
        + [("gateway.deliver_webhook", [log.id], "webhooks") for log in logs])


def test_an_existing_key_writes_nothing_new_and_replays(client, merchant, db):
    headers = {**merchant["headers"], "Idempotency-Key": "twice"}
    first = client.post("/api/v1/payments", json=BODY, headers=headers)
    second = client.post("/api/v1/payments", json=BODY, headers=headers)
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.get_json() == first.get_json()
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Payment)) == 1
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_batched_messages_match_what_celery_sends(config, flush_redis):
    from shared.broker import make_batch_publisher, make_celery, make_publisher
    make_publisher(make_celery(config))("gateway.process_payment", ["pay_a"], "payments")
    reference = json.loads(flush_redis.rpop("payments"))
    publish_many = make_batch_publisher(config)
    assert publish_many is not None
    publish_many([("gateway.process_payment", ["pay_b"], "payments"),
                  ("gateway.deliver_webhook", ["whl_c"], "webhooks")])
    ours = json.loads(flush_redis.rpop("payments"))
    assert flush_redis.llen("webhooks") == 1
    assert set(ours) == set(reference)
    assert set(ours["headers"]) == set(reference["headers"])
    assert set(ours["properties"]) - {"reply_to"} <= set(reference["properties"])
    assert ours["properties"]["delivery_info"] == reference["properties"]["delivery_info"]
    assert ours["headers"]["task"] == "gateway.process_payment"
    assert json.loads(base64.b64decode(ours["body"]))[0] == ["pay_b"]
    assert ours["headers"]["id"] != reference["headers"]["id"]
