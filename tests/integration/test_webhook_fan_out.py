"""Attempt 1 of every delivery is written with its event (no fan-out task), and a merchant's
endpoints together have a cap of requests in flight (WEBHOOK_MAX_IN_FLIGHT_PER_MERCHANT)."""
from __future__ import annotations

import dataclasses
import time
from datetime import timedelta

from sqlalchemy import select

from shared.db import utcnow
from shared.events.service import record_event
from shared.webhooks import delivery, subscriptions
from shared.webhooks.models import WebhookLog


def _endpoints(client, merchant, n, events=("*",)):
    return [client.post("/api/v1/webhook_endpoints", headers=merchant["headers"], json={
        "url": f"http://localhost:9/{i}", "events": list(events)}).get_json()["id"]
        for i in range(n)]


def _event(db, merchant_id, event_type="payment.completed"):
    with db.transaction() as session:
        return record_event(session, merchant_id, event_type, {"id": "pay_fan1"}).id


def _logs(db, event_id):
    with db.transaction() as session:
        return session.scalars(select(WebhookLog).where(WebhookLog.event_id == event_id)
                               .order_by(WebhookLog.endpoint_id)).all()


def test_an_event_commits_with_attempt_1_for_each_subscribed_endpoint(client, merchant, db,
                                                                    published):
    wanted = _endpoints(client, merchant, 2) + _endpoints(client, merchant, 1,
                                                          ["payment.completed"])
    _endpoints(client, merchant, 1, ["refund.created"])
    event_id = _event(db, merchant["merchant_id"])
    logs = _logs(db, event_id)
    assert [(log.endpoint_id, log.attempt, log.status) for log in logs] == [
        (endpoint_id, 1, "pending") for endpoint_id in sorted(wanted)]
    assert sorted(args for task, args, _ in published if task == "gateway.deliver_webhook") \
        == sorted([log.id] for log in logs)


def test_a_rolled_back_event_leaves_no_attempts(client, merchant, db):
    _endpoints(client, merchant, 1)
    try:
        with db.transaction() as session:
            record_event(session, merchant["merchant_id"], "payment.completed", {"id": "pay_x"})
            raise RuntimeError("the change fails")
    except RuntimeError:
        pass
    with db.transaction() as session:
        assert session.scalars(select(WebhookLog)).all() == []


def test_an_endpoint_change_in_this_process_is_seen_at_once(client, merchant, db):
    first = _endpoints(client, merchant, 1)[0]
    assert len(_logs(db, _event(db, merchant["merchant_id"]))) == 1
    client.patch(f"/api/v1/webhook_endpoints/{first}", headers=merchant["headers"],
                 json={"status": "disabled"})
    assert _logs(db, _event(db, merchant["merchant_id"])) == []
    second = _endpoints(client, merchant, 1)[0]
    assert [log.endpoint_id for log in _logs(db, _event(db, merchant["merchant_id"]))] == \
        [second]


def test_the_subscription_list_is_cached_briefly(client, merchant, db):
    _endpoints(client, merchant, 1)
    _event(db, merchant["merchant_id"])
    key = (merchant["merchant_id"], False)
    expires, cached = subscriptions._cache[key]
    assert expires - subscriptions.TTL_S <= time.monotonic() < expires
    assert len(cached) == 1
    subscriptions.invalidate(merchant["merchant_id"])
    assert key not in subscriptions._cache


def test_a_merchant_at_its_in_flight_cap_waits_and_another_merchant_does_not(
        client, make_merchant, db, config):
    config = dataclasses.replace(config, webhook_max_in_flight_per_merchant=2)
    busy, other = make_merchant("Busy"), make_merchant("Other")
    _endpoints(client, busy, 3)
    _endpoints(client, other, 1)
    logs = _logs(db, _event(db, busy["merchant_id"]))
    other_log = _logs(db, _event(db, other["merchant_id"]))[0]
    with db.transaction() as session:  # two requests of Busy in flight (other endpoints)
        for log in logs[:2]:
            row = session.get(WebhookLog, log.id)
            row.claimed_until = utcnow() + timedelta(seconds=30)
    assert delivery._claim(db, config, logs[2].id) == "busy"
    with db.transaction() as session:
        waiting = session.get(WebhookLog, logs[2].id)
        assert waiting.status == "pending" and waiting.claimed_until is None
        assert waiting.next_retry_at <= utcnow() + timedelta(seconds=delivery.BUSY_RECHECK_S)
    assert isinstance(delivery._claim(db, config, other_log.id), delivery.Claim)
    with db.transaction() as session:  # one of Busy's requests ends: the next one may go
        session.get(WebhookLog, logs[0].id).claimed_until = None
    assert isinstance(delivery._claim(db, config, logs[2].id), delivery.Claim)
