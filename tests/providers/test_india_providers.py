"""PhonePe and Cashfree specifics beyond the shared contract: callback authentication,
instruments, exact major-unit amounts and currency limits."""
from __future__ import annotations

import base64
import hashlib
import time

import pytest

from shared.errors import ProviderConfigError, WebhookVerificationError
from shared.providers.base import Outcome
from tests.providers.conftest import BUILDERS


@pytest.fixture(scope="module")
def phonepe():
    built = BUILDERS["phonepe"]()
    yield built
    built.sim.stop()


@pytest.fixture(scope="module")
def cashfree():
    built = BUILDERS["cashfree"]()
    yield built
    built.sim.stop()


def _paid_phonepe_callback(phonepe):
    provider = phonepe.provider()
    request = phonepe.payment_request()
    provider.create_payment(request)
    phonepe.sim.customer_pays(request.payment_id)
    return provider, phonepe.sim.webhook_for("payment", request.payment_id)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("authorization", [
    None, _sha256("phonepe-callbacks:wrong"), "Bearer x",
    # HTTP Basic of the right credentials is not PhonePe's scheme: refused.
    "basic-of-the-right-credentials"])
def test_phonepe_callback_needs_the_sha256_of_the_credentials(phonepe, authorization):
    provider, delivery = _paid_phonepe_callback(phonepe)
    if authorization == "basic-of-the-right-credentials":
        user, password = phonepe.sim.webhook_auth
        authorization = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    headers = {k: v for k, v in delivery.headers.items() if k != "Authorization"}
    if authorization:
        headers["Authorization"] = authorization
    with pytest.raises(WebhookVerificationError):
        provider.parse_webhook(headers, delivery.body)


def test_phonepe_callback_authorization_is_sha256_of_username_and_password(phonepe):
    """PhonePe "Handling Webhooks": ``Authorization: SHA256(username:password)``."""
    provider, delivery = _paid_phonepe_callback(phonepe)
    user, password = phonepe.sim.webhook_auth
    assert delivery.headers["Authorization"] == _sha256(f"{user}:{password}")
    assert provider.parse_webhook(delivery.headers, delivery.body).outcome is Outcome.SUCCEEDED
    upper = {**delivery.headers, "Authorization": _sha256(f"{user}:{password}").upper()}
    assert provider.parse_webhook(upper, delivery.body).outcome is Outcome.SUCCEEDED


def test_phonepe_callback_headers_are_case_insensitive(phonepe):
    provider, delivery = _paid_phonepe_callback(phonepe)
    headers = {k.lower(): v for k, v in delivery.headers.items()}
    assert provider.parse_webhook(headers, delivery.body).outcome is Outcome.SUCCEEDED


def test_phonepe_upi_collect_and_inr_only(phonepe):
    provider = phonepe.provider()
    request = phonepe.payment_request(method={"type": "upi", "vpa": "buyer@ybl"})
    created = provider.create_payment(request)
    assert created.next_action == {"type": "upi_collect", "vpa": "buyer@ybl"}
    assert provider.fetch_payment(request.payment_id, None).outcome is Outcome.PROCESSING
    with pytest.raises(ProviderConfigError):
        provider.create_payment(phonepe.payment_request(currency="USD"))


def test_phonepe_refund_callback_is_a_refund_event(phonepe):
    provider = phonepe.provider()
    request = phonepe.payment_request()
    provider.create_payment(request)
    phonepe.sim.customer_pays(request.payment_id)
    paid = provider.fetch_payment(request.payment_id, request.payment_id)
    refund = phonepe.refund_request(request, paid)
    provider.refund(refund)
    delivery = phonepe.sim.webhook_for("refund", refund.refund_id)
    event = provider.parse_webhook(delivery.headers, delivery.body)
    assert (event.kind, event.refund_id, event.payment_id) == ("refund", refund.refund_id, None)


@pytest.mark.parametrize("amount", [1, 100, 1050, 99_999_999_99])
def test_cashfree_amounts_round_trip_exactly(cashfree, amount):
    provider = cashfree.provider()
    request = cashfree.payment_request(amount=amount)
    created = provider.create_payment(request)
    assert created.amount == amount
    cashfree.sim.customer_pays(request.payment_id)
    assert provider.fetch_payment(request.payment_id, None).amount == amount


def test_cashfree_refuses_other_currencies(cashfree):
    with pytest.raises(ProviderConfigError):
        cashfree.provider().create_payment(cashfree.payment_request(currency="USD"))


def test_cashfree_webhook_from_the_future_is_rejected(cashfree):
    provider = cashfree.provider()
    request = cashfree.payment_request()
    created = provider.create_payment(request)
    cashfree.sim.customer_pays(request.payment_id)
    delivery = cashfree.sim.webhook_for("PAYMENT_SUCCESS_WEBHOOK", created.provider_payment_id,
                                        age_s=-600)
    with pytest.raises(WebhookVerificationError):
        provider.parse_webhook(delivery.headers, delivery.body)
    fresh = cashfree.sim.webhook_for("PAYMENT_SUCCESS_WEBHOOK", created.provider_payment_id)
    assert int(fresh.headers["x-webhook-timestamp"]) <= time.time() * 1000
    assert provider.parse_webhook(fresh.headers, fresh.body).outcome is Outcome.SUCCEEDED


def test_cashfree_expired_order_fails(cashfree):
    provider = cashfree.provider()
    request = cashfree.payment_request()
    provider.create_payment(request)
    with cashfree.sim.lock:
        cashfree.sim.orders[request.payment_id]["order_status"] = "EXPIRED"
    result = provider.fetch_payment(request.payment_id, None)
    assert (result.outcome, result.failure_code) == (Outcome.FAILED, "order_expired")


def test_cashfree_unknown_order_status_is_an_error_not_a_guess(cashfree):
    provider = cashfree.provider()
    request = cashfree.payment_request()
    provider.create_payment(request)
    with cashfree.sim.lock:
        cashfree.sim.orders[request.payment_id]["order_status"] = "SOMETHING_NEW"
    with pytest.raises(Exception) as raised:
        provider.fetch_payment(request.payment_id, None)
    assert raised.value.code == "provider_unknown_status"
