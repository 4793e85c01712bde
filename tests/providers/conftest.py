"""Fixtures for the provider contract suite: one simulator per provider (started once per
module), a provider built against it, and a harness describing how that provider's flow is
driven (card confirmation vs. customer checkout) and which codes it speaks."""
from __future__ import annotations

import secrets
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import pytest

from shared.config import Config, ProviderCredentials
from shared.providers.base import (
    Outcome,
    PaymentRequest,
    PaymentResult,
    RefundRequest,
    RefundResult,
)
from shared.providers.razorpay_provider import RazorpayProvider
from shared.providers.stripe_provider import StripeProvider
from tests.simulators.base import Delivery, SimulatorBase
from tests.simulators.razorpay_sim import RazorpaySimulator
from tests.simulators.stripe_sim import StripeSimulator

# Small, so timeout tests stay fast; simulators stall 1.5 s to exceed it.
CLIENT_TIMEOUT_S = 1
STALL_S = 1.5


def new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(8)


@dataclass
class Harness(ABC):
    """How the shared contract drives one provider."""
    name: str
    sim: SimulatorBase
    credentials: ProviderCredentials
    bad_credentials: ProviderCredentials
    required_env: list[str]
    decline_code: str               # queued with sim.decline_next and expected back
    refund_decline_code: str        # queued with sim.decline_refund_next, expected back
    checkout: bool                  # the customer completes the payment outside our call
    next_action_type: str | None
    signs_timestamp: bool           # the webhook scheme has a freshness timestamp
    create_echoes_amount: bool      # the create response states the amount
    currency: str = "INR"
    secrets: list[str] = field(default_factory=list)

    def config(self, credentials: ProviderCredentials | None = None) -> Config:
        return Config().with_overrides(providers=credentials or self.credentials,
                                       provider_timeout_s=CLIENT_TIMEOUT_S)

    def provider(self, credentials: ProviderCredentials | None = None):
        return PROVIDER_CLASSES[self.name](self.config(credentials))

    def method(self) -> dict:
        return {"type": "card", "token": "pm_card_visa"}

    def payment_request(self, amount: int = 1050, **changes) -> PaymentRequest:
        values = {"payment_id": new_id("pay_"), "amount": amount, "currency": self.currency,
                  "method": self.method(), "customer": {"id": "cus_1", "email": "a@b.example",
                                                        "phone": "9876543210"},
                  "description": "contract test", "return_url": "https://shop.example/done"}
        values.update(changes)
        return PaymentRequest(**values)

    def complete(self, provider, request: PaymentRequest, result: PaymentResult,
                 pays: bool = True) -> PaymentResult:
        """Drive the customer step, if any, and return the provider's final view."""
        if not self.checkout:
            return result
        if pays:
            self.sim.customer_pays(result.provider_payment_id)
        else:
            self.sim.customer_fails(result.provider_payment_id, self.decline_code)
        return provider.fetch_payment(request.payment_id, result.provider_payment_id)

    def refund_request(self, request: PaymentRequest, paid: PaymentResult,
                       amount: int | None = None) -> RefundRequest:
        return RefundRequest(refund_id=new_id("rfnd_"), payment_id=request.payment_id,
                             provider_payment_id=paid.provider_payment_id,
                             amount=request.amount if amount is None else amount,
                             currency=request.currency, reason="requested_by_customer")

    def settle_refund(self, provider, refund: RefundRequest,
                      result: RefundResult) -> RefundResult:
        if result.outcome is not Outcome.PROCESSING:
            return result
        return provider.fetch_refund(refund.refund_id, result.provider_refund_id,
                                     refund.provider_payment_id)

    @abstractmethod
    def payment_webhook(self, request: PaymentRequest, paid: PaymentResult, succeeded: bool,
                        **kw) -> Delivery:
        """A signed payment event; ``kw`` goes to the simulator (event_id, age_s, tamper)."""

    @abstractmethod
    def refund_webhook(self, refund: RefundRequest, result: RefundResult, **kw) -> Delivery:
        """A signed refund-processed event."""


class StripeHarness(Harness):
    def payment_webhook(self, request, paid, succeeded, **kw):
        kind = "payment_intent.succeeded" if succeeded else "payment_intent.payment_failed"
        return self.sim.webhook_for(kind, paid.provider_payment_id, **kw)

    def refund_webhook(self, refund, result, **kw):
        return self.sim.webhook_for("refund.updated", result.provider_refund_id, **kw)


class RazorpayHarness(Harness):
    def method(self) -> dict:
        return {"type": "checkout"}

    def payment_webhook(self, request, paid, succeeded, **kw):
        attempt = self.sim.payment_for_order(paid.provider_payment_id,
                                             "captured" if succeeded else "failed")
        kind = "payment.captured" if succeeded else "payment.failed"
        return self.sim.webhook_for(kind, attempt["id"], **kw)

    def refund_webhook(self, refund, result, **kw):
        return self.sim.webhook_for("refund.processed", result.provider_refund_id, **kw)


PROVIDER_CLASSES = {"stripe": StripeProvider, "razorpay": RazorpayProvider}


def _stripe() -> StripeHarness:
    key, whsec = "sk_test_" + secrets.token_hex(16), "whsec_" + secrets.token_hex(16)
    sim = StripeSimulator(key, whsec).start()
    creds = ProviderCredentials(stripe_secret_key=key, stripe_webhook_secret=whsec,
                                stripe_api_base=sim.url)
    return StripeHarness(
        name="stripe", sim=sim, credentials=creds,
        bad_credentials=ProviderCredentials(stripe_secret_key="sk_test_wrong",
                                            stripe_webhook_secret=whsec,
                                            stripe_api_base=sim.url),
        required_env=["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"],
        decline_code="insufficient_funds", refund_decline_code="charge_already_refunded",
        checkout=False, next_action_type=None, signs_timestamp=True,
        create_echoes_amount=True, currency="EUR", secrets=[key, whsec])


def _razorpay() -> RazorpayHarness:
    key_id, key_secret = "rzp_test_" + secrets.token_hex(7), secrets.token_hex(12)
    whsec = secrets.token_hex(12)
    sim = RazorpaySimulator(key_id, key_secret, whsec).start()
    creds = ProviderCredentials(razorpay_key_id=key_id, razorpay_key_secret=key_secret,
                                razorpay_webhook_secret=whsec, razorpay_base_url=sim.url + "/v1")
    return RazorpayHarness(
        name="razorpay", sim=sim, credentials=creds,
        bad_credentials=ProviderCredentials(razorpay_key_id=key_id,
                                            razorpay_key_secret="wrong" + key_secret[5:],
                                            razorpay_webhook_secret=whsec,
                                            razorpay_base_url=sim.url + "/v1"),
        required_env=["RAZORPAY_KEY_ID", "RAZORPAY_KEY_SECRET", "RAZORPAY_WEBHOOK_SECRET"],
        decline_code="card_declined", refund_decline_code="BAD_REQUEST_ERROR",
        checkout=True, next_action_type="razorpay_checkout", signs_timestamp=False,
        create_echoes_amount=True, secrets=[key_secret, whsec])


BUILDERS = {"stripe": _stripe, "razorpay": _razorpay}


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def harness(request):
    built = BUILDERS[request.param]()
    yield built
    built.sim.stop()


@pytest.fixture
def provider(harness):
    return harness.provider()
