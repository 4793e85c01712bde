"""Issue 12 item 1: a provider answer that disagrees with ours on the amount has one outcome,
whichever path brings it (the worker's create or status poll, a webhook, Checkout's verify):
the payment is not completed, it is flagged ``amount_mismatch`` for an operator, an ERROR
line says so, and the sweeper stops asking. Through the Razorpay simulator."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from shared.config import Config
from shared.maintenance import sweep_stuck_work
from shared.outbox import OutboxMessage
from shared.payments.models import Payment
from shared.payments.processing import process_payment
from shared.provider_events.inbound import process_provider_event
from shared.provider_events.models import ProviderEvent
from shared.providers.models import TransactionAttempt
from shared.webhooks.models import Event
from tests.providers.conftest import BUILDERS


@pytest.fixture(scope="module")
def rzp():
    built = BUILDERS["razorpay"]()
    yield built
    built.sim.stop()


@pytest.fixture
def config(base_env, rzp) -> Config:
    """Overrides the conftest's: its ``app`` and ``client`` are built with this one."""
    return Config.from_env(base_env).with_overrides(providers=rzp.credentials,
                                                    provider_timeout_s=1)


def _create(client, merchant) -> str:
    response = client.post("/api/v1/payments", headers=merchant["headers"], json={
        "amount": 49900, "currency": "INR", "provider": "razorpay",
        "payment_method": {"type": "upi", "vpa": "customer@okaxis"}})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["id"]


def _state(db, payment_id) -> tuple[str, str | None, list[str]]:
    with db.transaction() as session:
        row = session.get(Payment, payment_id)
        events = list(session.scalars(select(Event.type).where(Event.object_id == payment_id)))
        return row.status, row.review_reason, events


def _assert_settled_as_mismatch(db, config, payment_id, caplog) -> None:
    """The one outcome: still processing (not completed), flagged, logged, not asked again."""
    status, review_reason, events = _state(db, payment_id)
    assert (status, review_reason) == ("processing", "amount_mismatch")
    assert "payment.completed" not in events
    assert any(r.levelno == logging.ERROR and payment_id in r.getMessage()
               and "amount_mismatch" in r.getMessage() for r in caplog.records)
    with db.transaction() as session:
        session.query(OutboxMessage).delete()
    sweep_stuck_work(db, config.with_overrides(reconcile_after_s=-1))
    with db.transaction() as session:
        jobs = session.scalars(select(OutboxMessage.args).where(
            OutboxMessage.task == "gateway.process_payment")).all()
    assert [payment_id] not in jobs


def _paid_but_disagreeing(client, db, config, rzp, merchant) -> tuple[str, dict]:
    """A Razorpay checkout the customer paid, whose amount we then hold differently."""
    payment_id = _create(client, merchant)
    process_payment(db, config, payment_id)
    with db.transaction() as session:
        row = session.get(Payment, payment_id)
        handoff = rzp.sim.customer_pays(row.provider_payment_id)
        row.amount = 50000   # Razorpay captured 49900
    return payment_id, handoff


def test_create_answer_with_another_amount(client, db, config, rzp, merchant, caplog):
    caplog.set_level(logging.ERROR)
    payment_id = _create(client, merchant)
    rzp.sim.misreport_amount_next("payment")
    assert process_payment(db, config, payment_id) == "amount_mismatch"
    with db.transaction() as session:
        attempts = session.scalars(select(TransactionAttempt.error_code).where(
            TransactionAttempt.payment_id == payment_id)).all()
    assert attempts == ["provider_amount_mismatch"]
    _assert_settled_as_mismatch(db, config, payment_id, caplog)


def test_status_poll_with_another_amount(client, db, config, rzp, merchant, caplog):
    caplog.set_level(logging.ERROR)
    payment_id, _ = _paid_but_disagreeing(client, db, config, rzp, merchant)
    assert process_payment(db, config, payment_id) == "amount_mismatch"
    with db.transaction() as session:
        last = session.scalars(select(TransactionAttempt).where(
            TransactionAttempt.payment_id == payment_id)
            .order_by(TransactionAttempt.id.desc())).first()
        assert (last.operation, last.outcome, last.error_code) == (
            "fetch_payment", "error", "provider_amount_mismatch")
    _assert_settled_as_mismatch(db, config, payment_id, caplog)


def test_webhook_with_another_amount(client, db, config, published, rzp, merchant, caplog):
    caplog.set_level(logging.ERROR)
    payment_id, handoff = _paid_but_disagreeing(client, db, config, rzp, merchant)
    delivery = rzp.sim.webhook_for("payment.captured", handoff["razorpay_payment_id"])
    response = client.post("/api/v1/webhooks/razorpay", headers=delivery.headers,
                           data=delivery.body)
    assert response.status_code == 200
    jobs = [args[0] for task, args, _ in published if task == "gateway.process_provider_event"]
    assert [process_provider_event(db, config, job) for job in jobs] == ["mismatch"]
    with db.transaction() as session:
        row = session.scalars(select(ProviderEvent)).one()
        assert row.status == "mismatch" and "provider_amount_mismatch" in row.result
    _assert_settled_as_mismatch(db, config, payment_id, caplog)


def test_checkout_verify_with_another_amount(client, db, config, rzp, merchant, caplog):
    caplog.set_level(logging.ERROR)
    payment_id, handoff = _paid_but_disagreeing(client, db, config, rzp, merchant)
    response = client.post(f"/api/v1/payments/{payment_id}/verify",
                           headers=merchant["headers"], json=handoff)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["status"] == "processing"
    _assert_settled_as_mismatch(db, config, payment_id, caplog)
