"""Promise 1 and 2 with real processes: an accepted payment is never lost and never charged
twice, when a worker is killed mid-job or Redis is down while payments are written."""
from __future__ import annotations

import signal
import time

from sqlalchemy import func, select, update

from shared.broker import make_batch_publisher
from shared.ledger.models import BalanceTransaction
from shared.outbox import OutboxMessage
from shared.payments.models import Payment
from shared.providers.models import SandboxCharge
from shared.webhooks.models import Event, WebhookLog
from tests.factories import create_payment, create_webhook_endpoint
from tests.harness.processes import wait_for

FAST_RECOVERY = {"STUCK_PENDING_AFTER_S": "1", "RECONCILE_AFTER_S": "2",
                 "SWEEP_INTERVAL_S": "1", "OUTBOX_RELAY_AFTER_S": "1"}


def create_many(client, merchant, n):
    return [create_payment(client, merchant["headers"], amount=1000)["id"] for _ in range(n)]


def statuses(db, ids):
    with db.transaction() as session:
        return dict(session.execute(select(Payment.id, Payment.status)
                                    .where(Payment.id.in_(ids))).all())


def charges_per_payment(db, ids):
    with db.transaction() as session:
        rows = session.execute(select(SandboxCharge.reference, func.count())
                               .where(SandboxCharge.kind == "charge",
                                      SandboxCharge.reference.in_(ids))
                               .group_by(SandboxCharge.reference)).all()
    return dict(rows)


def completions_per_payment(db, ids):
    """``{payment id: (payment.completed events, ledger balance transactions)}``."""
    with db.transaction() as session:
        events = dict(session.execute(select(Event.object_id, func.count()).where(
            Event.type == "payment.completed", Event.object_id.in_(ids))
            .group_by(Event.object_id)).all())
        postings = dict(session.execute(select(BalanceTransaction.source_id, func.count())
                                        .where(BalanceTransaction.source_id.in_(ids))
                                        .group_by(BalanceTransaction.source_id)).all())
    return {i: (events.get(i, 0), postings.get(i, 0)) for i in ids}


def test_worker_killed_mid_processing_loses_and_doubles_nothing(
        live_client, merchant, db, start_worker, start_beat):
    ids = create_many(live_client, merchant, 12)
    victim = start_worker(concurrency=2, SANDBOX_LATENCY_MS="400", **FAST_RECOVERY)
    wait_for(lambda: "processing" in statuses(db, ids).values(), 20,
             message="a payment to be mid-processing")
    victim.kill(signal.SIGKILL)
    at_kill = statuses(db, ids)
    assert "processing" in at_kill.values() or "pending" in at_kill.values()

    start_worker(concurrency=2, SANDBOX_LATENCY_MS="50", **FAST_RECOVERY)
    start_beat(**FAST_RECOVERY)
    wait_for(lambda: set(statuses(db, ids).values()) == {"completed"}, 60,
             message="every payment to complete after the kill")
    per_payment = charges_per_payment(db, ids)
    assert set(per_payment) == set(ids)
    assert max(per_payment.values()) == 1


def unpublished_count(db) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.published_at.is_(None)))


def published_together(db, config, flush_redis, ids):
    """``ids`` on the payments queue as the outbox relay publishes rows ready at once (its
    batch publisher merges them, up to 8 payments to a message); nothing else queued."""
    wait_for(lambda: unpublished_count(db) == 0, 10, message="the API's relay to be done")
    flush_redis.flushall()  # what the API's relay published one by one
    make_batch_publisher(config)([("gateway.process_payment", [i], "payments") for i in ids])
    return flush_redis.llen("payments")


def test_payments_published_together_complete_once_each(live_client, merchant, db, config,
                                                        start_worker, flush_redis):
    ids = create_many(live_client, merchant, 12)
    assert published_together(db, config, flush_redis, [*ids, "pay_missing"]) == 2  # 8 + 5
    start_worker(concurrency=2)
    wait_for(lambda: set(statuses(db, ids).values()) == {"completed"}, 30,
             message="every payment of both messages to complete")
    assert charges_per_payment(db, ids) == {i: 1 for i in ids}
    assert completions_per_payment(db, ids) == {i: (1, 1) for i in ids}


def test_a_payment_that_breaks_its_batch_does_not_hold_up_the_others(
        live_client, merchant, db, config, start_worker, flush_redis):
    ids = create_many(live_client, merchant, 6)
    broken = ids[2]
    with db.transaction() as session:  # as if its provider were removed from the config
        session.execute(update(Payment).where(Payment.id == broken)
                        .values(provider="retired_provider"))
    assert published_together(db, config, flush_redis, ids) == 1
    start_worker(concurrency=2)
    others = [i for i in ids if i != broken]
    wait_for(lambda: set(statuses(db, others).values()) == {"completed"}, 30,
             message="the rest of the batch to complete one by one")
    assert statuses(db, [broken]) == {broken: "processing"}
    assert completions_per_payment(db, others) == {i: (1, 1) for i in others}
    assert charges_per_payment(db, ids) == {i: 1 for i in others}


def test_worker_killed_mid_batch_loses_and_doubles_nothing(
        live_client, merchant, db, config, start_worker, start_beat, flush_redis):
    ids = create_many(live_client, merchant, 16)
    assert published_together(db, config, flush_redis, ids) == 2
    victim = start_worker(concurrency=2, SANDBOX_LATENCY_MS="300", **FAST_RECOVERY)
    # A batch is claimed in one transaction and settled in one: kill it between, when some
    # of its payments are charged and none of them is settled yet.
    wait_for(lambda: len(charges_per_payment(db, ids)) >= 2, 20,
             message="the batches' provider calls to be part done")
    victim.kill(signal.SIGKILL)
    at_kill = statuses(db, ids)
    assert set(at_kill.values()) != {"completed"}
    assert "processing" in at_kill.values()

    start_worker(concurrency=2, SANDBOX_LATENCY_MS="20", **FAST_RECOVERY)
    start_beat(**FAST_RECOVERY)
    wait_for(lambda: set(statuses(db, ids).values()) == {"completed"}, 60,
             message="every payment to complete after the kill")
    assert charges_per_payment(db, ids) == {i: 1 for i in ids}
    assert completions_per_payment(db, ids) == {i: (1, 1) for i in ids}


def test_redis_down_while_payments_are_created(live_client, merchant, db, redis_server,
                                               start_worker, start_beat, flush_redis):
    redis_server.stop()
    try:
        started = time.monotonic()
        ids = create_many(live_client, merchant, 8)
        elapsed = time.monotonic() - started
    finally:
        redis_server.start_on_same_port()
    assert elapsed < 8, f"POSTs waited on the broker ({elapsed:.1f}s for 8)"
    assert set(statuses(db, ids).values()) == {"pending"}
    assert unpublished_count(db) >= len(ids)

    start_worker(**FAST_RECOVERY)
    start_beat(**FAST_RECOVERY)
    wait_for(lambda: set(statuses(db, ids).values()) == {"completed"}, 60,
             message="payments written during the outage to complete")
    assert max(charges_per_payment(db, ids).values()) == 1


def test_jobs_lost_by_the_broker_are_republished(live_client, merchant, db, start_worker,
                                                 start_beat, flush_redis):
    ids = create_many(live_client, merchant, 5)
    flush_redis.flushall()  # as if Redis restarted without persistence
    start_worker(**FAST_RECOVERY)
    start_beat(**FAST_RECOVERY)
    wait_for(lambda: set(statuses(db, ids).values()) == {"completed"}, 60,
             message="lost jobs to be swept up")


def test_events_whose_fan_out_was_lost_still_reach_the_receiver(
        live_client, make_merchant, db, start_worker, start_beat, flush_redis, make_receiver):
    merchant = make_merchant("Acme")
    receiver = make_receiver()
    create_webhook_endpoint(live_client, merchant["headers"], url=receiver.url,
                            events=["payment.created"])
    ids = create_many(live_client, merchant, 4)
    # No worker runs yet: the attempts were committed with the events all the same.
    with db.transaction() as session:
        logs = session.scalars(select(WebhookLog)).all()
    assert len(logs) == 4 and {log.status for log in logs} == {"pending"}
    # Their delivery jobs were queued; Redis loses them all.
    wait_for(lambda: flush_redis.llen("webhooks") >= 4, 10, message="deliveries to be queued")
    flush_redis.flushall()
    start_worker(queues="payments,maintenance", **FAST_RECOVERY)
    start_worker(queues="webhooks", pool="threads", concurrency=4, **FAST_RECOVERY)
    start_beat(**FAST_RECOVERY)

    def delivered():
        got = {r.event["data"]["object"]["id"] for r in receiver.received()}
        return got >= set(ids)
    wait_for(delivered, 60, message="every payment.created event to be delivered")
