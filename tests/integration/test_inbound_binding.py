"""Issue 10 items 1 and 2: provider events are bound to the payment by the provider object we
created (never by what the customer can set), a failed attempt inside a checkout leaves the
payment open, and a capture after the payment is final reaches the merchant."""
from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from shared.config import Config
from shared.payments.models import Payment
from shared.payments.processing import process_payment
from shared.provider_events.inbound import process_provider_event
from shared.provider_events.models import ProviderEvent
from shared.webhooks.models import Event
from tests.factories import create_payment, create_refund, create_webhook_endpoint
from tests.providers.conftest import BUILDERS


@pytest.fixture(scope="module")
def rzp():
    built = BUILDERS["razorpay"]()
    yield built
    built.sim.stop()


@pytest.fixture(scope="module")
def cfree():
    built = BUILDERS["cashfree"]()
    yield built
    built.sim.stop()


@pytest.fixture
def config(base_env, rzp, cfree) -> Config:
    """Overrides the conftest's: its ``app`` and ``client`` are built with this one."""
    creds = rzp.credentials
    import dataclasses
    merged = dataclasses.replace(
        creds, cashfree_client_id=cfree.credentials.cashfree_client_id,
        cashfree_client_secret=cfree.credentials.cashfree_client_secret,
        cashfree_base_url=cfree.credentials.cashfree_base_url,
        public_base_url="https://gateway.example")
    return Config.from_env(base_env).with_overrides(providers=merged, provider_timeout_s=1)


def _open_checkout(client, db, config, merchant, provider="razorpay", amount=49900) -> dict:
    created = create_payment(client, merchant["headers"], amount=amount, provider=provider,
                             payment_method={"type": "upi", "vpa": "customer@okaxis"})
    process_payment(db, config, created["id"])
    payment = _get(client, merchant, created["id"])
    assert payment["status"] == "processing" and payment["provider_payment_id"]
    return payment


def _get(client, merchant, payment_id) -> dict:
    return client.get(f"/api/v1/payments/{payment_id}", headers=merchant["headers"]).get_json()


def _deliver(client, db, config, published, provider, delivery) -> list[str]:
    response = client.post(f"/api/v1/webhooks/{provider}", headers=delivery.headers,
                           data=delivery.body)
    assert response.status_code == 200, response.get_data(as_text=True)
    jobs = [args[0] for task, args, _ in published if task == "gateway.process_provider_event"]
    published.clear()
    return [process_provider_event(db, config, job) for job in jobs]


def _event_types(db, payment_id) -> list[str]:
    with db.transaction() as session:
        return list(session.scalars(select(Event.type).where(Event.object_id == payment_id)
                                    .order_by(Event.id)))


def _expire(session, payment_id, config) -> None:
    row = session.get(Payment, payment_id)
    row.created_at = row.created_at - timedelta(seconds=config.checkout_expiry_s + 1)


# --- item 1: binding ------------------------------------------------------------------------

def test_capture_naming_another_merchants_payment_in_notes_is_refused(
        client, db, config, published, rzp, make_merchant, caplog):
    a, b = make_merchant("A"), make_merchant("B")
    paid_for = _open_checkout(client, db, config, a)
    victim = _open_checkout(client, db, config, b)   # same amount, another merchant
    # The customer pays order A in Checkout, passing notes that name B's payment.
    rzp.sim.customer_pays(paid_for["provider_payment_id"],
                          notes={"gateway_payment_id": victim["id"]})
    attempt = rzp.sim.payment_for_order(paid_for["provider_payment_id"], "captured")
    caplog.set_level(logging.WARNING)
    outcome = _deliver(client, db, config, published, "razorpay",
                       rzp.sim.webhook_for("payment.captured", attempt["id"]))
    assert outcome == ["mismatch"]
    assert _get(client, b, victim["id"])["status"] == "processing"
    assert _get(client, b, victim["id"])["provider_payment_id"] == victim["provider_payment_id"]
    assert _get(client, a, paid_for["id"])["status"] == "processing"
    assert "payment.completed" not in _event_types(db, victim["id"])
    with db.transaction() as session:
        row = session.scalars(select(ProviderEvent)).one()
        assert row.status == "mismatch" and victim["id"] in row.result
    assert any("mismatch" in r.getMessage() for r in caplog.records)
    # The payment that really was paid still completes through its own order (the poll).
    process_payment(db, config, paid_for["id"])
    assert _get(client, a, paid_for["id"])["status"] == "completed"
    assert _get(client, b, victim["id"])["status"] == "processing"


def test_capture_is_bound_by_the_order_we_created(client, db, config, published, rzp,
                                                  merchant):
    payment = _open_checkout(client, db, config, merchant)
    rzp.sim.customer_pays(payment["provider_payment_id"], notes={"shop": "no ids here"})
    attempt = rzp.sim.payment_for_order(payment["provider_payment_id"], "captured")
    assert _deliver(client, db, config, published, "razorpay",
                    rzp.sim.webhook_for("payment.captured", attempt["id"])) == ["processed"]
    assert _get(client, merchant, payment["id"])["status"] == "completed"


def test_capture_for_an_order_we_did_not_create_names_our_payment_in_vain(
        client, db, config, published, rzp, merchant):
    ours = _open_checkout(client, db, config, merchant)
    # An order made outside the gateway (same account), paid with notes naming our payment.
    foreign = rzp.provider().client.order.create(
        {"amount": 49900, "currency": "INR", "receipt": "elsewhere-1"})
    rzp.sim.customer_pays(foreign["id"], notes={"gateway_payment_id": ours["id"]})
    attempt = rzp.sim.payment_for_order(foreign["id"], "captured")
    assert _deliver(client, db, config, published, "razorpay",
                    rzp.sim.webhook_for("payment.captured", attempt["id"])) == ["mismatch"]
    assert _get(client, merchant, ours["id"])["status"] == "processing"


def test_refund_event_for_another_payment_is_refused(client, db, config, published, rzp,
                                                     make_merchant):
    from shared.refunds.processing import process_refund
    a, b = make_merchant("A"), make_merchant("B")
    pa, pb = (_open_checkout(client, db, config, m) for m in (a, b))
    for payment in (pa, pb):
        rzp.sim.customer_pays(payment["provider_payment_id"])
        process_payment(db, config, payment["id"])
    refund_b = create_refund(client, b["headers"], pb["id"])
    from shared.refunds.models import Refund
    with db.transaction() as session:   # its worker reached Razorpay, then died
        session.get(Refund, refund_b["id"]).status = "processing"
    # A refund made on A's Razorpay payment
    # whose notes name B's refund must not complete B's.
    rzp_payment = rzp.sim.payment_for_order(pa["provider_payment_id"], "captured")
    made = rzp.provider().client.payment.refund(rzp_payment["id"], {
        "amount": 49900, "receipt": "manual-1",
        "notes": {"gateway_refund_id": refund_b["id"], "gateway_payment_id": pb["id"]}})
    assert _deliver(client, db, config, published, "razorpay",
                    rzp.sim.webhook_for("refund.processed", made["id"])) == ["mismatch"]
    with db.transaction() as session:
        assert session.get(Payment, pb["id"]).amount_refunded == 0
    process_refund(db, config, refund_b["id"])
    with db.transaction() as session:
        assert session.get(Payment, pb["id"]).amount_refunded == 49900


# --- item 2: attempts inside a checkout, late captures ---------------------------------------

def test_failed_razorpay_attempt_leaves_the_checkout_open_and_a_retry_completes_it(
        client, db, config, published, rzp, merchant):
    payment = _open_checkout(client, db, config, merchant)
    order_id = payment["provider_payment_id"]
    rzp.sim.customer_fails(order_id, "card_declined")
    failed = rzp.sim.payment_for_order(order_id, "failed")
    assert _deliver(client, db, config, published, "razorpay",
                    rzp.sim.webhook_for("payment.failed", failed["id"])) == ["ignored"]
    assert _get(client, merchant, payment["id"])["status"] == "processing"
    process_payment(db, config, payment["id"])  # the poll sees only the failed attempt
    assert _get(client, merchant, payment["id"])["status"] == "processing"
    rzp.sim.customer_pays(order_id)  # the customer retries inside Checkout
    captured = rzp.sim.payment_for_order(order_id, "captured")
    assert _deliver(client, db, config, published, "razorpay",
                    rzp.sim.webhook_for("payment.captured", captured["id"])) == ["processed"]
    final = _get(client, merchant, payment["id"])
    assert final["status"] == "completed" and final["failure_code"] is None
    assert "payment.failed" not in _event_types(db, payment["id"])


@pytest.mark.parametrize("kind", ["PAYMENT_FAILED_WEBHOOK", "PAYMENT_USER_DROPPED_WEBHOOK"])
def test_failed_cashfree_attempt_leaves_the_checkout_open(client, db, config, published,
                                                          cfree, merchant, kind):
    payment = _open_checkout(client, db, config, merchant, provider="cashfree")
    cfree.sim.customer_fails(payment["provider_payment_id"])
    assert _deliver(client, db, config, published, "cashfree",
                    cfree.sim.webhook_for(kind, payment["provider_payment_id"])) == ["ignored"]
    assert _get(client, merchant, payment["id"])["status"] == "processing"
    process_payment(db, config, payment["id"])
    assert _get(client, merchant, payment["id"])["status"] == "processing"
    cfree.sim.customer_pays(payment["provider_payment_id"])
    assert _deliver(client, db, config, published, "cashfree", cfree.sim.webhook_for(
        "PAYMENT_SUCCESS_WEBHOOK", payment["provider_payment_id"])) == ["processed"]
    assert _get(client, merchant, payment["id"])["status"] == "completed"


def test_checkout_expires_after_only_failed_attempts(client, db, config, rzp, merchant):
    payment = _open_checkout(client, db, config, merchant)
    rzp.sim.customer_fails(payment["provider_payment_id"], "card_declined")
    with db.transaction() as session:
        _expire(session, payment["id"], config)
    process_payment(db, config, payment["id"])
    final = _get(client, merchant, payment["id"])
    assert (final["status"], final["failure_code"]) == ("failed", "checkout_expired")


def test_capture_after_the_payment_is_final_reaches_the_merchant(client, db, config,
                                                                 published, rzp, merchant,
                                                                 caplog):
    payment = _open_checkout(client, db, config, merchant)
    with db.transaction() as session:
        _expire(session, payment["id"], config)
    process_payment(db, config, payment["id"])
    assert _get(client, merchant, payment["id"])["status"] == "failed"
    rzp.sim.customer_pays(payment["provider_payment_id"])  # the customer paid anyway
    captured = rzp.sim.payment_for_order(payment["provider_payment_id"], "captured")
    caplog.set_level(logging.ERROR)
    delivery = rzp.sim.webhook_for("payment.captured", captured["id"])
    assert _deliver(client, db, config, published, "razorpay", delivery) == ["processed"]
    assert _get(client, merchant, payment["id"])["status"] == "failed"
    assert _event_types(db, payment["id"]).count("payment.late_capture") == 1
    with db.transaction() as session:
        assert session.get(Payment, payment["id"]).review_reason == "late_capture"
    assert any("late capture" in r.getMessage() for r in caplog.records
               if r.levelno == logging.ERROR)
    # order.paid for the same capture: flagged once, one event.
    assert _deliver(client, db, config, published, "razorpay", rzp.sim.webhook_for(
        "order.paid", payment["provider_payment_id"])) == ["ignored"]
    assert _event_types(db, payment["id"]).count("payment.late_capture") == 1
    create_webhook_endpoint(client, merchant["headers"], url="https://shop.example/hooks",
                            events=["payment.late_capture"])


def test_verify_after_the_checkout_expired_flags_a_late_capture(client, db, config, rzp,
                                                                merchant):
    payment = _open_checkout(client, db, config, merchant)
    with db.transaction() as session:
        _expire(session, payment["id"], config)
    process_payment(db, config, payment["id"])
    handoff = rzp.sim.customer_pays(payment["provider_payment_id"])
    for _ in range(2):   # the customer's page reloads
        response = client.post(f"/api/v1/payments/{payment['id']}/verify",
                               headers=merchant["headers"], json=handoff)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.get_json()["status"] == "failed"
    assert _event_types(db, payment["id"]).count("payment.late_capture") == 1
    with db.transaction() as session:
        assert session.get(Payment, payment["id"]).review_reason == "late_capture"
