"""Attempt 1 of every delivery is written with its event (no fan-out task), and a merchant's
endpoints together have a cap of requests in flight (WEBHOOK_MAX_IN_FLIGHT_PER_MERCHANT)."""
from __future__ import annotations

import dataclasses
import json
import threading
import time
from datetime import timedelta

from sqlalchemy import create_engine, select, text

from shared.db import utcnow
from shared.events.service import record_event
from shared.webhooks import delivery, subscriptions
from shared.webhooks.models import WebhookLog
from tests.harness.receiver import Answer, Receiver


def _endpoints(client, merchant, n, events=("*",), url="http://localhost:9"):
    return [client.post("/api/v1/webhook_endpoints", headers=merchant["headers"], json={
        "url": f"{url}/{i}", "events": list(events)}).get_json()["id"]
        for i in range(n)]


def _event(db, merchant_id, event_type="payment.completed"):
    with db.transaction() as session:
        return record_event(session, merchant_id, event_type, {"id": "pay_fan1"}).id


def _logs(db, event_id):
    with db.transaction() as session:
        return session.scalars(select(WebhookLog).where(WebhookLog.event_id == event_id)
                               .order_by(WebhookLog.endpoint_id)).all()


def _status_and_lease(db, log_id):
    with db.transaction() as session:
        row = session.get(WebhookLog, log_id)
        return row.status, row.claimed_until


def json_id(body: bytes) -> str:
    return json.loads(body)["id"]


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


def test_a_merchant_already_at_its_cap_is_turned_away_without_waiting_for_its_lock(
        client, make_merchant, db, config):
    """When one merchant's endpoints hang, most claims find it at its cap: those are answered
    from a lock-free count, and only a claim that may send queues on the merchant's lock."""
    config = dataclasses.replace(config, webhook_max_in_flight_per_merchant=2)
    busy = make_merchant("Hung")
    _endpoints(client, busy, 3)
    logs = _logs(db, _event(db, busy["merchant_id"]))
    with db.transaction() as session:
        for log in logs[:2]:
            session.get(WebhookLog, log.id).claimed_until = utcnow() + timedelta(seconds=30)
    holder = db.engine.connect()  # another claim of this merchant, holding its lock
    holder.execute(text("SELECT pg_advisory_lock(:space, hashtext(:merchant))"),
                   {"space": delivery.MERCHANT_LOCK_SPACE, "merchant": busy["merchant_id"]})
    try:
        outcome: list = []
        turned_away = threading.Thread(
            target=lambda: outcome.append(delivery._claim(db, config, logs[2].id)))
        turned_away.start()
        turned_away.join(10)
        assert outcome == ["busy"]
        with db.transaction() as session:  # a slot frees: this claim must wait for the lock
            session.get(WebhookLog, logs[0].id).claimed_until = None
            session.get(WebhookLog, logs[2].id).next_retry_at = utcnow()
        waiting = threading.Thread(
            target=lambda: outcome.append(delivery._claim(db, config, logs[2].id)))
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive() and outcome == ["busy"]
    finally:
        holder.execute(text("SELECT pg_advisory_unlock_all()"))
        holder.close()
    waiting.join(10)
    assert isinstance(outcome[-1], delivery.Claim)


def test_a_success_hands_the_slot_to_the_endpoints_next_waiting_attempt(client, merchant, db,
                                                                      config):
    """The worker whose request succeeded sends the endpoint's next waiting attempts itself,
    oldest first, each recorded; another endpoint's attempt is left to its own message."""
    receiver = Receiver(Answer(200)).start()
    try:
        mine, theirs = _endpoints(client, merchant, 2, url=receiver.url)
        events = [_event(db, merchant["merchant_id"]) for _ in range(3)]
        logs = [log for e in events for log in _logs(db, e)]
        for_mine = [log.id for log in logs if log.endpoint_id == mine]
        assert delivery.deliver(db, config, for_mine[0]) == "succeeded"
        assert [r.path for r in receiver.requests] == ["/hooks/0"] * 3
        assert [json_id(r.body) for r in receiver.requests] == events
        with db.transaction() as session:
            rows = {row.id: row for row in session.scalars(select(WebhookLog))}
        assert [(rows[i].status, rows[i].claimed_until) for i in for_mine] == \
            [("succeeded", None)] * 3
        assert {rows[log.id].status for log in logs if log.endpoint_id == theirs} == \
            {"pending"}
        # The duplicate message of a handed-over attempt finds it done.
        assert delivery.deliver(db, config, for_mine[1]) == "skipped"
    finally:
        receiver.stop()


def test_a_failed_request_keeps_no_slot(client, merchant, db, config):
    receiver = Receiver(Answer(500)).start()
    try:
        _endpoints(client, merchant, 1, url=receiver.url)
        first, second = (_logs(db, _event(db, merchant["merchant_id"]))[0] for _ in range(2))
        assert delivery.deliver(db, config, first.id) == "retrying"
        assert len(receiver.requests) == 1
        assert _status_and_lease(db, second.id) == ("pending", None)
    finally:
        receiver.stop()


def test_a_hand_over_that_ends_leaves_the_next_attempt_due_now(client, merchant, db, config):
    """When the worker stops handing over (its time is up, or it is shutting down), the
    endpoint's next waiting attempt is not left to sit out its busy wait: it is due now, so
    the dispatcher offers it again at its next tick."""
    receiver = Receiver(Answer(200)).start()
    try:
        _endpoints(client, merchant, 1, url=receiver.url)
        logs = [_logs(db, _event(db, merchant["merchant_id"]))[0] for _ in range(3)]
        later = utcnow() + timedelta(minutes=5)
        with db.transaction() as session:  # as a claim turned away busy leaves them
            for log in logs[1:]:
                session.get(WebhookLog, log.id).next_retry_at = later
        assert delivery.deliver(db, config, logs[0].id, keep_going=lambda: False) == \
            "succeeded"
        # The first attempt's own request always hands over once; then the loop stops.
        assert [json_id(r.body) for r in receiver.requests] == \
            [logs[0].event_id, logs[1].event_id]
        with db.transaction() as session:
            third = session.get(WebhookLog, logs[2].id)
            assert (third.status, third.claimed_until) == ("pending", None)
            assert third.next_retry_at <= utcnow()
        assert delivery.dispatch_due(db)["republished"] == 1
    finally:
        receiver.stop()


def test_an_answer_is_recorded_across_a_database_restart_and_frees_its_slot(
        client, merchant, db, config):
    """PostgreSQL ends every connection while the request is out (as a restart does): the
    answer is still recorded once the database answers again, so the attempt is not left
    leased (holding one of the endpoint's slots until the lease runs out) and sent twice."""
    receiver = Receiver(Answer(200, hang_s=0.5)).start()
    killer = create_engine(db.engine.url)
    try:
        _endpoints(client, merchant, 1, url=receiver.url)
        log = _logs(db, _event(db, merchant["merchant_id"]))[0]

        def restart_while_the_request_is_out():
            while not receiver.requests:
                time.sleep(0.01)
            with killer.begin() as conn:
                ended = conn.execute(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
            assert ended >= 1
        restarter = threading.Thread(target=restart_while_the_request_is_out)
        restarter.start()
        assert delivery.deliver(db, config, log.id) == "succeeded"
        restarter.join(10)
        assert len(receiver.requests) == 1
        assert _status_and_lease(db, log.id) == ("succeeded", None)
    finally:
        killer.dispose()
        receiver.stop()
