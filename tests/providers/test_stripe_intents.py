"""Stripe specifics beyond the shared contract: 3-D Secure redirects, tokens, statuses."""
from __future__ import annotations

import pytest

from shared.errors import ProviderConfigError, ProviderError
from shared.providers.base import Outcome
from tests.providers.conftest import BUILDERS


@pytest.fixture(scope="module")
def stripe_h():
    built = BUILDERS["stripe"]()
    yield built
    built.sim.stop()


def test_requires_action_is_processing_with_a_redirect(stripe_h):
    provider = stripe_h.provider()
    stripe_h.sim.require_action_next()
    request = stripe_h.payment_request()
    created = provider.create_payment(request)
    assert created.outcome is Outcome.PROCESSING
    assert created.next_action == {"type": "redirect",
                                   "url": f"{stripe_h.sim.url}/3ds/{created.provider_payment_id}"}
    stripe_h.sim.customer_pays(created.provider_payment_id)
    assert provider.fetch_payment(request.payment_id,
                                  created.provider_payment_id).outcome is Outcome.SUCCEEDED


def test_tok_tokens_go_through_payment_method_data(stripe_h):
    provider = stripe_h.provider()
    request = stripe_h.payment_request(method={"type": "card", "token": "tok_visa"})
    result = provider.create_payment(request)
    assert result.outcome is Outcome.SUCCEEDED
    assert result.request["params"]["payment_method_data"] == {
        "type": "card", "card": {"token": "tok_visa"}}
    assert provider.fetch_payment(request.payment_id, None).provider_payment_id == \
        result.provider_payment_id


def test_non_card_methods_are_refused(stripe_h):
    with pytest.raises(ProviderConfigError):
        stripe_h.provider().create_payment(
            stripe_h.payment_request(method={"type": "upi", "vpa": "a@b"}))


def test_unknown_intent_status_raises(stripe_h):
    provider = stripe_h.provider()
    request = stripe_h.payment_request()
    created = provider.create_payment(request)
    with stripe_h.sim.lock:
        stripe_h.sim.intents[created.provider_payment_id]["status"] = "brand_new_status"
    with pytest.raises(ProviderError) as raised:
        provider.fetch_payment(request.payment_id, created.provider_payment_id)
    assert raised.value.code == "provider_unknown_status"


def test_result_copies_hide_the_intent_client_secret(stripe_h):
    result = stripe_h.provider().create_payment(stripe_h.payment_request())
    assert "_secret_" not in repr(result.response)
