"""Read-modify-writes under concurrency, on PostgreSQL (row locks) and on SQLite (no row
locks: BEGIN IMMEDIATE and atomic increments). Each test runs on both databases."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text

from shared.db import Database
from shared.models import Base
from shared.payments.models import Payment
from shared.payments.processing import process_payment
from shared.providers.models import SandboxCharge
from shared.refunds.models import Refund
from shared.refunds.processing import process_refund
from shared.webhooks.models import Event
from tests.factories import create_payment, create_refund


@pytest.fixture(scope="module")
def sqlite_database(tmp_path_factory):
    from shared.migrate import upgrade
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite')}/gateway.db"
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def any_db(request, db, sqlite_database):
    if request.param == "postgresql":
        yield db
        return
    sqlite_database.outbox_relay = None
    yield sqlite_database
    with sqlite_database.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(text(f"DELETE FROM {table.name}"))


@pytest.fixture
def any_app(config, any_db):
    from api import create_app
    app = create_app(config, db=any_db, publish=lambda *a: None)
    app.testing = True
    return app


@pytest.fixture
def acme(any_db):
    from shared.merchants.credentials import create_merchant
    with any_db.transaction() as session:
        _merchant, key = create_merchant(session, "Acme")
    return {"Authorization": f"Bearer {key.api_key}"}


def _pay(app, headers, amount, db, config, **extra):
    return create_payment(app.test_client(), {**headers, **extra}, amount=amount)["id"]


def _count(db, model, *where):
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_parallel_refund_jobs_add_up_exactly(any_app, acme, any_db, config):
    """The issue's case: three parallel 10000 refunds of a 30000 payment end ``refunded``."""
    app = any_app
    pid = _pay(app, acme, 30_000, any_db, config)
    assert process_payment(any_db, config, pid) == "completed"
    client = app.test_client()
    ids = [create_refund(client, acme, pid, amount=10_000)["id"] for _ in range(3)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        outcomes = list(pool.map(lambda rid: process_refund(any_db, config, rid), ids))
    assert outcomes == ["completed"] * 3
    with any_db.transaction() as session:
        payment = session.get(Payment, pid)
        assert (payment.status, payment.amount_refunded, payment.amount_refund_reserved) == \
            ("refunded", 30_000, 30_000)
    assert _count(any_db, Event, Event.type == "payment.refunded") == 3


def test_parallel_refund_requests_never_reserve_more_than_paid(any_app, acme,
                                                               any_db, config):
    app = any_app
    pid = _pay(app, acme, 10_000, any_db, config)
    assert process_payment(any_db, config, pid) == "completed"

    def send(_):
        with app.test_client() as c:
            return c.post("/api/v1/refunds", headers=acme,
                          json={"payment_id": pid, "amount": 3000}).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(send, range(10)))
    assert sorted(statuses) == [201] * 3 + [400] * 7, statuses
    assert _count(any_db, Refund, Refund.payment_id == pid) == 3
    with any_db.transaction() as session:
        assert session.get(Payment, pid).amount_refund_reserved == 9000


def test_parallel_identical_posts_under_one_key_make_one_payment(any_app, acme,
                                                                 any_db, config):
    app = any_app

    def send(_):
        with app.test_client() as c:
            r = c.post("/api/v1/payments", headers={**acme, "Idempotency-Key": "same"},
                       json={"amount": 700, "currency": "INR",
                             "payment_method": {"type": "card", "token": "tok_success"}})
            return r.status_code, (r.get_json() or {}).get("id")

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(send, range(10)))
    assert {s for s, _ in results} <= {201, 409}, results
    assert len({pid for s, pid in results if s == 201}) == 1
    assert _count(any_db, Payment) == 1
    assert _count(any_db, Event, Event.type == "payment.created") == 1


def test_parallel_status_moves_charge_once(any_app, acme, any_db, config):
    app = any_app
    pid = _pay(app, acme, 4200, any_db, config)
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(lambda _: process_payment(any_db, config, pid), range(4)))
    assert "completed" in outcomes
    with any_db.transaction() as session:
        assert session.get(Payment, pid).status == "completed"
    assert _count(any_db, SandboxCharge, SandboxCharge.reference == pid) == 1
    assert _count(any_db, Event, Event.type == "payment.completed") == 1


def test_a_delivery_is_claimed_once_sent_signed_and_recorded_on_both_databases(
        any_app, acme, any_db, config):
    """The delivery path's Core statements (claim under locks, answer guarded by the lease)
    on each database: eight workers racing for the same attempt send it once; a 500 answer
    is recorded as ``retrying`` with its next attempt scheduled; a busy endpoint waits."""
    import dataclasses
    import json

    from standardwebhooks import Webhook

    from shared.events.service import record_event
    from shared.webhooks import delivery
    from shared.webhooks.models import WebhookLog
    from tests.harness.receiver import Answer, Receiver

    receiver = Receiver(Answer(200)).start()
    try:
        config = dataclasses.replace(config, webhook_max_in_flight_per_endpoint=1)
        client = any_app.test_client()
        endpoint = client.post("/api/v1/webhook_endpoints", headers=acme, json={
            "url": receiver.url, "events": ["*"]}).get_json()
        with any_db.transaction() as session:
            merchant_id = session.scalar(text("SELECT merchant_id FROM webhook_endpoints"))
            first = record_event(session, merchant_id, "payment.completed",
                                 {"id": "pay_both1", "livemode": False}).id

        def log_of(event_id):
            with any_db.transaction() as session:
                return session.scalars(select(WebhookLog).where(
                    WebhookLog.event_id == event_id)).one()

        log_id = log_of(first).id
        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = list(pool.map(lambda _: delivery.deliver(any_db, config, log_id),
                                     range(8)))
        assert outcomes.count("succeeded") == 1
        assert set(outcomes) <= {"succeeded", "skipped"}
        assert len(receiver.requests) == 1
        sent = receiver.requests[0]
        assert json.loads(Webhook(endpoint["secret"]).verify(sent.body, {
            k.lower(): v for k, v in sent.headers.items()}) and sent.body)["id"] == first
        done = log_of(first)
        assert (done.status, done.response_status, done.claimed_until) == \
            ("succeeded", 200, None)

        # One request in flight at the cap of 1: the other attempt waits, nothing is sent.
        with any_db.transaction() as session:
            second = record_event(session, merchant_id, "payment.failed",
                                  {"id": "pay_both2", "livemode": False}).id
        other = log_of(second)
        claim = delivery._claim(any_db, config, other.id)
        assert isinstance(claim, delivery.Claim)
        with any_db.transaction() as session:
            extra = record_event(session, merchant_id, "payment.canceled",
                                 {"id": "pay_both3", "livemode": False}).id
        assert delivery._claim(any_db, config, log_of(extra).id) == "busy"
        receiver.default = Answer(500)
        result = delivery.http_sender.post(claim.url, claim.body, claim.headers, 5, False)
        assert delivery._record(any_db, config, claim, result) == "retrying"
        retried = log_of(second)
        assert (retried.status, retried.response_status, retried.claimed_until) == \
            ("retrying", 500, None)
        assert retried.next_retry_at is not None
        # Recording the same answer again (a lease that is no longer ours) changes nothing.
        assert delivery._record(any_db, config, claim, result) == "skipped"
    finally:
        receiver.stop()


def test_every_provider_call_is_recorded_on_both_databases(any_app, acme, any_db, config):
    from shared.providers.models import TransactionAttempt
    pid = _pay(any_app, acme, 1_000, any_db, config)
    assert process_payment(any_db, config, pid) == "completed"
    with any_db.transaction() as session:
        attempts = session.scalars(select(TransactionAttempt).where(
            TransactionAttempt.payment_id == pid)).all()
    assert [(a.operation, a.outcome) for a in attempts] == [("create_payment", "succeeded")]
