"""The sweeper behind the queue: lost jobs and stored-but-unapplied provider webhooks."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, func, select, update

from shared.db import utcnow
from shared.jobs import PROCESS_PAYMENT
from shared.maintenance import sweep_stuck_work
from shared.outbox import OutboxMessage, OutboxRelay, enqueue
from shared.payments.models import Payment
from shared.provider_events.models import ProviderEvent
from tests.factories import create_payment
from tests.harness.processes import wait_for


def jobs(db, task):
    with db.transaction() as session:
        return [m.args for m in session.scalars(
            select(OutboxMessage).where(OutboxMessage.task == task).order_by(OutboxMessage.id))]


def test_sweeper_republishes_old_pending_and_processing_work(client, merchant, db, config):
    ids = [create_payment(client, merchant["headers"])["id"] for _ in range(3)]
    fresh, old_pending, old_processing = ids
    with db.transaction() as session:
        long_ago = utcnow() - timedelta(hours=1)
        session.execute(update(Payment).where(Payment.id == old_pending)
                        .values(updated_at=long_ago))
        session.execute(update(Payment).where(Payment.id == old_processing)
                        .values(updated_at=long_ago, status="processing"))
    before = len(jobs(db, "gateway.process_payment"))
    counts = sweep_stuck_work(db, config)
    assert counts["payments"] == 2
    republished = jobs(db, "gateway.process_payment")[before:]
    assert sorted(republished) == sorted([[old_pending], [old_processing]])
    # Touched: the next sweep leaves them alone for another interval.
    assert sweep_stuck_work(db, config)["payments"] == 0
    assert [fresh] not in republished


def test_sweeper_applies_provider_webhooks_left_unprocessed(db, config):
    with db.transaction() as session:
        stuck = ProviderEvent(provider="stripe", provider_event_id="evt_1", event_type="x",
                              payload="{}", status="received",
                              received_at=utcnow() - timedelta(hours=1))
        done = ProviderEvent(provider="stripe", provider_event_id="evt_2", event_type="x",
                             payload="{}", status="processed",
                             received_at=utcnow() - timedelta(hours=1))
        recent = ProviderEvent(provider="stripe", provider_event_id="evt_3", event_type="x",
                               payload="{}", status="received", received_at=utcnow())
        session.add_all([stuck, done, recent])
    assert sweep_stuck_work(db, config)["provider_events"] == 1
    assert jobs(db, "gateway.process_provider_event") == [[stuck.id]]


def test_published_outbox_rows_are_purged_after_a_day(db):
    from shared.maintenance import purge_published_outbox
    with db.transaction() as session:
        old = OutboxMessage(task="t", args=[], queue="q", created_at=utcnow(),
                            published_at=utcnow() - timedelta(days=2))
        recent = OutboxMessage(task="t", args=[], queue="q", created_at=utcnow(),
                               published_at=utcnow())
        unpublished = OutboxMessage(task="t", args=[], queue="q",
                                    created_at=utcnow() - timedelta(days=3))
        session.add_all([old, recent, unpublished])
    assert purge_published_outbox(db, keep_s=24 * 3600) == 1
    with db.transaction() as session:
        left = {m.id for m in session.scalars(select(OutboxMessage))}
    assert left == {recent.id, unpublished.id}


def _waiting_checkout(client, merchant, db, age):
    pid = create_payment(client, merchant["headers"])["id"]
    with db.transaction() as session:
        # As a checkout-style provider leaves it: the provider has it, the customer has not
        # paid (the sandbox's ledger has no charge, so it answers "still processing").
        session.execute(update(Payment).where(Payment.id == pid).values(
            status="processing", provider_payment_id="sbx_waiting",
            next_action={"type": "redirect", "url": "https://pay.example/x"},
            created_at=utcnow() - age))
    return pid


def test_an_open_checkout_is_polled_and_stays_processing(client, merchant, db, config):
    from shared.payments.processing import process_payment
    pid = _waiting_checkout(client, merchant, db, timedelta(minutes=5))
    assert process_payment(db, config, pid) == "unchanged processing"


def test_a_checkout_the_customer_never_finished_expires(client, merchant, db, config):
    from shared.payments.processing import process_payment
    pid = _waiting_checkout(client, merchant, db, timedelta(seconds=config.checkout_expiry_s + 60))
    assert process_payment(db, config, pid) == "failed"
    with db.transaction() as session:
        payment = session.get(Payment, pid)
    assert (payment.failure_code, payment.next_action) == ("checkout_expired", None)


def test_events_have_their_delivery_attempts_without_any_task(client, merchant, db, config,
                                                              published):
    """What the sweeper used to redo (a lost fan-out) cannot happen: attempt 1 of each
    delivery commits with its event, and the only job is sending it."""
    from shared.webhooks.models import Event, WebhookLog
    endpoint = client.post("/api/v1/webhook_endpoints", headers=merchant["headers"], json={
        "url": "http://localhost:9/hook", "events": ["payment.created"]}).get_json()
    client.post("/api/v1/payments", headers=merchant["headers"], json={
        "amount": 100, "currency": "INR",
        "payment_method": {"type": "card", "token": "tok_success"}})
    with db.transaction() as session:
        event = session.scalars(select(Event)).one()
        logs = session.scalars(select(WebhookLog)).all()
    assert [(log.event_id, log.endpoint_id, log.attempt, log.status) for log in logs] == [
        (event.id, endpoint["id"], 1, "pending")]
    assert ("gateway.deliver_webhook", [logs[0].id], "webhooks") in published
    assert "events" not in sweep_stuck_work(db, config)


def test_sweeper_backs_off_per_item(client, merchant, db, config):
    from shared.maintenance_backoff import SweepBackoff, backoff_delay_s
    pid = client.post("/api/v1/payments", headers=merchant["headers"], json={
        "amount": 100, "currency": "INR",
        "payment_method": {"type": "card", "token": "tok_success"}}).get_json()["id"]

    def stuck_again():
        with db.transaction() as session:
            session.execute(update(Payment).where(Payment.id == pid)
                            .values(updated_at=utcnow() - timedelta(hours=1)))

    def backoff():
        with db.transaction() as session:
            row = session.get(SweepBackoff, pid)
            return row.sweeps, (row.next_sweep_at - utcnow()).total_seconds()

    base = config.stuck_pending_after_s
    stuck_again()
    assert sweep_stuck_work(db, config)["payments"] == 1
    sweeps, wait = backoff()
    assert sweeps == 1 and base - 5 < wait <= base
    stuck_again()  # still not moving: not asked again before its own time comes
    assert sweep_stuck_work(db, config)["payments"] == 0
    with db.transaction() as session:
        session.get(SweepBackoff, pid).next_sweep_at = utcnow() - timedelta(seconds=1)
    assert sweep_stuck_work(db, config)["payments"] == 1
    sweeps, wait = backoff()
    assert sweeps == 2 and 2 * base - 5 < wait <= 2 * base
    assert [backoff_delay_s(10, n) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert backoff_delay_s(10, 50) == 600  # capped


def test_the_background_relay_publishes_each_commit_and_marks_them_together(db):
    """Each commit's rows reach the broker at once; the publisher thread marks them published
    with one UPDATE per interval instead of one per commit."""
    sent: list[list] = []
    relay = OutboxRelay(db, publish=lambda *a: None, background=True, mark_every_s=0.3,
                        publish_many=lambda messages: sent.extend(m[1] for m in messages))
    marks: list[str] = []

    def count_marks(_conn, _cursor, statement, *_):
        if statement.startswith("UPDATE outbox"):
            marks.append(statement)

    previous, db.outbox_relay = db.outbox_relay, relay
    event.listen(db.engine, "before_cursor_execute", count_marks)
    try:
        for i in range(20):
            with db.transaction() as session:
                enqueue(session, PROCESS_PAYMENT, [f"pay_{i}"])
        wait_for(lambda: len(sent) == 20, 5, message="every commit published")
        wait_for(lambda: unmarked_count(db) == 0, 5, message="all marked published")
    finally:
        event.remove(db.engine, "before_cursor_execute", count_marks)
        db.outbox_relay = previous
    assert sorted(sent) == sorted([f"pay_{i}"] for i in range(20))
    assert 1 <= len(marks) < 20


def unmarked_count(db) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.published_at.is_(None)))
