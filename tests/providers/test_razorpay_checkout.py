"""Razorpay specifics beyond the shared contract: the Checkout signature and ids."""
from __future__ import annotations

import pytest

from shared.providers.base import Outcome
from tests.providers.conftest import BUILDERS, STALL_S


@pytest.fixture(scope="module")
def rzp():
    built = BUILDERS["razorpay"]()
    yield built
    built.sim.stop()


def test_checkout_signature_verifies_and_tampering_fails(rzp):
    provider = rzp.provider()
    request = rzp.payment_request(amount=49900)
    created = provider.create_payment(request)
    action = created.next_action
    assert action == {"type": "razorpay_checkout", "order_id": created.provider_payment_id,
                      "key_id": rzp.credentials.razorpay_key_id, "amount": 49900,
                      "currency": "INR", "notes": {"gateway_payment_id": request.payment_id}}
    handed = rzp.sim.customer_pays(action["order_id"])
    order_id, pay_id, signature = (handed["razorpay_order_id"], handed["razorpay_payment_id"],
                                   handed["razorpay_signature"])
    assert provider.verify_checkout_signature(order_id, pay_id, signature) is True
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    assert provider.verify_checkout_signature(order_id, pay_id, flipped) is False
    assert provider.verify_checkout_signature(order_id, "pay_other", signature) is False
    other = provider.create_payment(rzp.payment_request()).provider_payment_id
    assert provider.verify_checkout_signature(other, pay_id, signature) is False
    assert provider.fetch_payment(request.payment_id, order_id).outcome is Outcome.SUCCEEDED


def test_retry_after_timeout_finds_the_order_without_receipt_dedupe(rzp):
    """Real Razorpay keeps every order it is asked for; the provider must look first."""
    rzp.sim.dedupe_receipts = False
    try:
        provider = rzp.provider()
        request = rzp.payment_request()
        rzp.sim.timeout_next(STALL_S)
        with pytest.raises(Exception, match="did not answer"):
            provider.create_payment(request)
        retried = provider.create_payment(request)
        assert rzp.sim.orders_for(request.payment_id) == 1
        assert retried.next_action["order_id"] == retried.provider_payment_id
    finally:
        rzp.sim.dedupe_receipts = True


def test_fetch_without_order_id_finds_the_order_by_receipt(rzp):
    provider = rzp.provider()
    request = rzp.payment_request()
    created = provider.create_payment(request)
    rzp.sim.customer_pays(created.provider_payment_id)
    fetched = provider.fetch_payment(request.payment_id, None)
    assert fetched.provider_payment_id == created.provider_payment_id
    assert fetched.outcome is Outcome.SUCCEEDED


def test_order_paid_webhook_carries_our_payment_id(rzp):
    provider = rzp.provider()
    request = rzp.payment_request()
    created = provider.create_payment(request)
    rzp.sim.customer_pays(created.provider_payment_id)
    delivery = rzp.sim.webhook_for("order.paid", created.provider_payment_id)
    event = provider.parse_webhook(delivery.headers, delivery.body)
    assert (event.kind, event.outcome, event.payment_id) == (
        "payment", Outcome.SUCCEEDED, request.payment_id)
    assert event.provider_payment_id == created.provider_payment_id


def test_failed_attempt_then_success_in_checkout_ends_succeeded(rzp):
    provider = rzp.provider()
    request = rzp.payment_request()
    created = provider.create_payment(request)
    rzp.sim.customer_fails(created.provider_payment_id, "insufficient_funds")
    failed = provider.fetch_payment(request.payment_id, created.provider_payment_id)
    # One failed attempt: the order stays open for a retry inside Checkout.
    assert (failed.outcome, failed.failure_code) == (Outcome.PROCESSING, "insufficient_funds")
    rzp.sim.customer_pays(created.provider_payment_id)
    assert provider.fetch_payment(request.payment_id,
                                  created.provider_payment_id).outcome is Outcome.SUCCEEDED
