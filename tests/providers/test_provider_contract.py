"""The contract every real provider module keeps, run against each provider's simulator.

Each test drives the real SDK / HTTP client over the wire to a local simulator that speaks
the provider's format, so signatures, encodings and error shapes are exercised for real.
"""
from __future__ import annotations

import logging

import pytest

from shared.config import ProviderCredentials
from shared.errors import (
    ProviderConfigError,
    ProviderError,
    ProviderTransientError,
    ProviderUnavailable,
    WebhookVerificationError,
)
from shared.providers.base import Outcome
from tests.providers.conftest import STALL_S


def _pay(harness, provider, **changes):
    request = harness.payment_request(**changes)
    created = provider.create_payment(request)
    return request, created, harness.complete(provider, request, created)


def _alter(body: bytes) -> bytes:
    """``body`` with one letter or digit in its middle changed: same shape, other content."""
    i = next(i for i in range(len(body) // 2, len(body)) if chr(body[i]).isalnum())
    return body[:i] + (b"A" if body[i:i + 1] != b"A" else b"B") + body[i + 1:]


# --- payments ------------------------------------------------------------------------------

def test_successful_payment(harness, provider):
    request = harness.payment_request()
    created = provider.create_payment(request)
    if harness.checkout:
        assert created.outcome is Outcome.PROCESSING
        assert created.next_action["type"] == harness.next_action_type
        assert harness.sim.charges_made(request.payment_id) == 0
    final = harness.complete(provider, request, created)
    assert final.outcome is Outcome.SUCCEEDED
    assert (final.amount, final.currency) == (request.amount, request.currency)
    assert final.provider_payment_id
    assert final.failure_code is None
    assert harness.sim.charges_made(request.payment_id) == 1


def test_decline_is_a_failed_result_with_the_providers_code(harness, provider):
    harness.sim.decline_next(harness.decline_code)
    request = harness.payment_request()
    final = harness.complete(provider, request, provider.create_payment(request))
    # In a checkout the customer may retry after a decline: reported, but not final.
    expected = Outcome.PROCESSING if harness.retryable_checkout else Outcome.FAILED
    assert final.outcome is expected
    assert final.failure_code == harness.decline_code
    assert harness.sim.charges_made(request.payment_id) == 0


def test_customer_abandoning_checkout_fails_the_payment(harness, provider):
    if not harness.checkout:
        pytest.skip("card payments complete inside create_payment")
    request = harness.payment_request()
    created = provider.create_payment(request)
    final = harness.complete(provider, request, created, pays=False)
    expected = Outcome.PROCESSING if harness.retryable_checkout else Outcome.FAILED
    assert final.outcome is expected
    assert final.failure_code == harness.decline_code


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_error_is_transient_and_retry_charges_once(harness, provider, status):
    request = harness.payment_request()
    harness.sim.fail_next(status)
    with pytest.raises(ProviderTransientError):
        provider.create_payment(request)
    final = harness.complete(provider, request, provider.create_payment(request))
    assert final.outcome is Outcome.SUCCEEDED
    assert harness.sim.charges_made(request.payment_id) == 1


def test_timeout_after_provider_acted_retries_to_the_same_payment(harness, provider):
    request = harness.payment_request()
    harness.sim.timeout_next(STALL_S)
    with pytest.raises(ProviderTransientError) as raised:
        provider.create_payment(request)
    assert raised.value.code == "provider_timeout"
    retried = provider.create_payment(request)
    again = provider.create_payment(request)
    assert retried.provider_payment_id == again.provider_payment_id
    final = harness.complete(provider, request, retried)
    assert final.outcome is Outcome.SUCCEEDED
    assert harness.sim.charges_made(request.payment_id) == 1


def test_fetch_payment_reports_the_providers_view(harness, provider):
    request, _, final = _pay(harness, provider)
    fetched = provider.fetch_payment(request.payment_id, final.provider_payment_id)
    assert fetched.outcome is Outcome.SUCCEEDED
    assert (fetched.amount, fetched.currency) == (request.amount, request.currency)


def test_bad_credentials_are_a_config_error(harness):
    provider = harness.provider(harness.bad_credentials)
    with pytest.raises(ProviderConfigError) as raised:
        provider.create_payment(harness.payment_request())
    assert not isinstance(raised.value, ProviderTransientError)
    assert raised.value.code == "provider_authentication_failed"


def test_missing_credentials_are_listed(harness):
    provider = harness.provider(ProviderCredentials())
    assert sorted(provider.missing_credentials()) == sorted(harness.required_env)
    assert harness.provider().missing_credentials() == []
    with pytest.raises(ProviderUnavailable):
        provider.create_payment(harness.payment_request())


def test_amount_mismatch_on_create_is_an_error(harness, provider):
    if not harness.create_echoes_amount:
        pytest.skip("this provider's create response carries no amount")
    harness.sim.misreport_amount_next("payment")
    with pytest.raises(ProviderError) as raised:
        provider.create_payment(harness.payment_request())
    assert not isinstance(raised.value, ProviderTransientError)
    assert raised.value.code == "provider_amount_mismatch"


# --- refunds -------------------------------------------------------------------------------

def test_refund_succeeds_once_even_when_retried(harness, provider):
    request, _, paid = _pay(harness, provider)
    refund = harness.refund_request(request, paid, amount=request.amount - 50)
    result = harness.settle_refund(provider, refund, provider.refund(refund))
    assert result.outcome is Outcome.SUCCEEDED
    assert (result.amount, result.currency) == (refund.amount, refund.currency)
    again = provider.refund(refund)
    assert again.provider_refund_id == result.provider_refund_id
    assert harness.sim.refunds_made(refund.refund_id) == 1
    fetched = provider.fetch_refund(refund.refund_id, result.provider_refund_id,
                                    refund.provider_payment_id)
    assert fetched.outcome is Outcome.SUCCEEDED


def test_refund_found_by_our_id_when_its_provider_id_was_never_learnt(harness, provider):
    # The refund call timed out before the answer arrived: reconciliation looks it up
    # with only our refund id and the payment.
    request, _, paid = _pay(harness, provider)
    refund = harness.refund_request(request, paid)
    result = harness.settle_refund(provider, refund, provider.refund(refund))
    fetched = provider.fetch_refund(refund.refund_id, None, refund.provider_payment_id)
    assert fetched.outcome is Outcome.SUCCEEDED
    assert fetched.provider_refund_id == result.provider_refund_id


def test_refund_after_server_error_is_made_once(harness, provider):
    request, _, paid = _pay(harness, provider)
    refund = harness.refund_request(request, paid)
    harness.sim.fail_next(502)
    with pytest.raises(ProviderTransientError):
        provider.refund(refund)
    result = harness.settle_refund(provider, refund, provider.refund(refund))
    assert result.outcome is Outcome.SUCCEEDED
    assert harness.sim.refunds_made(refund.refund_id) == 1


def test_failed_refund_is_a_failed_result(harness, provider):
    request, _, paid = _pay(harness, provider)
    refund = harness.refund_request(request, paid)
    harness.sim.decline_refund_next(harness.refund_decline_code)
    result = harness.settle_refund(provider, refund, provider.refund(refund))
    assert result.outcome is Outcome.FAILED
    assert result.failure_code == harness.refund_decline_code
    assert harness.sim.refunds_made(refund.refund_id) == 0


def test_refund_amount_mismatch_is_an_error(harness, provider):
    request, _, paid = _pay(harness, provider)
    refund = harness.refund_request(request, paid)
    harness.sim.misreport_amount_next("refund")
    with pytest.raises(ProviderError) as raised:
        provider.refund(refund)
    assert raised.value.code == "provider_amount_mismatch"


# --- webhooks ------------------------------------------------------------------------------

def test_payment_succeeded_webhook(harness, provider):
    request, _, paid = _pay(harness, provider)
    delivery = harness.payment_webhook(request, paid, succeeded=True)
    event = provider.parse_webhook(delivery.headers, delivery.body)
    assert event.kind == "payment"
    assert event.outcome is Outcome.SUCCEEDED
    assert event.payment_id == request.payment_id
    assert event.provider_payment_id == paid.provider_payment_id
    assert (event.amount, event.currency) == (request.amount, request.currency)
    assert event.provider_event_id == delivery.event_id


def test_payment_failed_webhook(harness, provider):
    harness.sim.decline_next(harness.decline_code)
    request = harness.payment_request()
    failed = harness.complete(provider, request, provider.create_payment(request))
    delivery = harness.payment_webhook(request, failed, succeeded=False)
    event = provider.parse_webhook(delivery.headers, delivery.body)
    assert (event.kind, event.outcome) == ("payment", Outcome.FAILED)
    assert event.payment_id == request.payment_id
    assert event.failure_code == harness.decline_code


def test_refund_webhook(harness, provider):
    request, _, paid = _pay(harness, provider)
    refund = harness.refund_request(request, paid)
    result = harness.settle_refund(provider, refund, provider.refund(refund))
    delivery = harness.refund_webhook(refund, result)
    event = provider.parse_webhook(delivery.headers, delivery.body)
    assert (event.kind, event.outcome) == ("refund", Outcome.SUCCEEDED)
    assert event.refund_id == refund.refund_id
    assert event.amount == refund.amount


def test_redelivered_webhook_keeps_its_event_id(harness, provider):
    request, _, paid = _pay(harness, provider)
    first = harness.payment_webhook(request, paid, succeeded=True)
    second = harness.payment_webhook(request, paid, succeeded=True, event_id=first.event_id)
    events = [provider.parse_webhook(d.headers, d.body) for d in (second, first)]
    assert events[0].provider_event_id == events[1].provider_event_id == first.event_id


def test_webhook_with_bad_signature_is_rejected(harness, provider):
    request, _, paid = _pay(harness, provider)
    delivery = harness.payment_webhook(request, paid, succeeded=True, tamper=True)
    with pytest.raises(WebhookVerificationError):
        provider.parse_webhook(delivery.headers, delivery.body)


def test_webhook_with_altered_body_is_rejected(harness, provider):
    request, _, paid = _pay(harness, provider)
    delivery = harness.payment_webhook(request, paid, succeeded=True)
    altered = _alter(delivery.body)
    with pytest.raises(WebhookVerificationError):
        provider.parse_webhook(delivery.headers, altered)


def test_stale_webhook_is_rejected(harness, provider):
    if not harness.signs_timestamp:
        pytest.skip("this provider's signature carries no timestamp; replays are harmless "
                    "because statuses only move forward")
    request, _, paid = _pay(harness, provider)
    delivery = harness.payment_webhook(request, paid, succeeded=True, age_s=600)
    with pytest.raises(WebhookVerificationError):
        provider.parse_webhook(delivery.headers, delivery.body)


# --- secrecy -------------------------------------------------------------------------------

def test_no_secret_reaches_results_errors_or_logs(harness, provider, caplog):
    caplog.set_level(logging.DEBUG)
    records = []
    request, created, paid = _pay(harness, provider)
    records += [created, paid]
    refund = harness.refund_request(request, paid)
    records.append(harness.settle_refund(provider, refund, provider.refund(refund)))
    delivery = harness.payment_webhook(request, paid, succeeded=True)
    provider.parse_webhook(delivery.headers, delivery.body)
    bad = harness.payment_webhook(request, paid, succeeded=True, tamper=True)
    with pytest.raises(WebhookVerificationError) as rejected:
        provider.parse_webhook(bad.headers, bad.body)
    with pytest.raises(ProviderConfigError) as denied:
        harness.provider(harness.bad_credentials).create_payment(harness.payment_request())
    harness.sim.fail_next(500)
    with pytest.raises(ProviderTransientError) as transient:
        provider.create_payment(harness.payment_request())

    signatures = [v for d in (delivery, bad) for k, v in d.headers.items()
                  if "signature" in k.lower() or "verify" in k.lower()
                  or k.lower() == "authorization"]
    assert signatures, "the harness must expose the webhook's signature headers"
    texts = [repr(r.request) + repr(r.response) for r in records]
    texts += [repr(e.value.request) + repr(e.value.response) + str(e.value)
              for e in (rejected, denied, transient)]
    texts.append(caplog.text)
    assert any(request.payment_id in t for t in texts), "results carry no request copies"
    for secret in harness.secrets + signatures:
        for text in texts:
            assert secret not in text
