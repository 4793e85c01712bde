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
from shared.providers.cashfree_provider import CashfreeProvider
from shared.providers.phonepe_provider import PhonePeProvider
from shared.providers.razorpay_provider import RazorpayProvider
from shared.providers.stripe_provider import StripeProvider
from tests.simulators.base import Delivery, SimulatorBase
from tests.simulators.cashfree_sim import CashfreeSimulator
from tests.simulators.phonepe_sim import PhonePeSimulator
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
    # A failed attempt leaves the checkout open for the customer to retry (Razorpay,
    # Cashfree): the provider reports it as PROCESSING with the attempt's failure code.
    retryable_checkout: bool = False
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


class PhonePeHarness(Harness):
    def method(self) -> dict:
        return {"type": "phonepe"}

    def payment_webhook(self, request, paid, succeeded, **kw):
        return self.sim.webhook_for("payment", request.payment_id, **kw)

    def refund_webhook(self, refund, result, **kw):
        return self.sim.webhook_for("refund", refund.refund_id, **kw)


class CashfreeHarness(Harness):
    def method(self) -> dict:
        return {"type": "checkout"}

    def payment_webhook(self, request, paid, succeeded, **kw):
        kind = "PAYMENT_SUCCESS_WEBHOOK" if succeeded else "PAYMENT_FAILED_WEBHOOK"
        return self.sim.webhook_for(kind, paid.provider_payment_id, **kw)

    def refund_webhook(self, refund, result, **kw):
        return self.sim.webhook_for("REFUND_STATUS_WEBHOOK",
                                    f"{refund.provider_payment_id}/{refund.refund_id}", **kw)


PROVIDER_CLASSES = {"stripe": StripeProvider, "razorpay": RazorpayProvider,
                    "phonepe": PhonePeProvider, "cashfree": CashfreeProvider}


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
        create_echoes_amount=True, secrets=[key_secret, whsec], retryable_checkout=True)


def _phonepe() -> PhonePeHarness:
    mid, salt, index = "SIMMERCHANT", secrets.token_hex(16), "1"
    user, password = "phonepe-callbacks", secrets.token_hex(12)
    sim = PhonePeSimulator(mid, salt, index, user, password).start()

    def creds(salt_key: str) -> ProviderCredentials:
        return ProviderCredentials(
            phonepe_merchant_id=mid, phonepe_salt_key=salt_key, phonepe_salt_index=index,
            phonepe_webhook_username=user, phonepe_webhook_password=password,
            phonepe_base_url=sim.url, public_base_url="https://gateway.example")

    return PhonePeHarness(
        name="phonepe", sim=sim, credentials=creds(salt),
        bad_credentials=creds(secrets.token_hex(16)),
        # PHONEPE_SALT_INDEX has a default ("1"), so it is never missing.
        required_env=["PHONEPE_MERCHANT_ID", "PHONEPE_SALT_KEY", "PHONEPE_WEBHOOK_USERNAME",
                      "PHONEPE_WEBHOOK_PASSWORD"],
        decline_code="PAYMENT_DECLINED", refund_decline_code="PAYMENT_ERROR",
        checkout=True, next_action_type="redirect", signs_timestamp=False,
        create_echoes_amount=False, secrets=[salt, password])


def _cashfree() -> CashfreeHarness:
    client_id, client_secret = "CF" + secrets.token_hex(8), "cfsk_" + secrets.token_hex(16)
    sim = CashfreeSimulator(client_id, client_secret).start()

    def creds(secret: str) -> ProviderCredentials:
        return ProviderCredentials(cashfree_client_id=client_id, cashfree_client_secret=secret,
                                   cashfree_base_url=sim.url,
                                   public_base_url="https://gateway.example")

    return CashfreeHarness(
        name="cashfree", sim=sim, credentials=creds(client_secret),
        bad_credentials=creds("cfsk_wrong"),
        # CASHFREE_API_VERSION has a default, so it is never missing.
        required_env=["CASHFREE_CLIENT_ID", "CASHFREE_CLIENT_SECRET"],
        decline_code="TRANSACTION_DECLINED", refund_decline_code="refund_amount_invalid",
        checkout=True, next_action_type="cashfree_checkout", signs_timestamp=True,
        create_echoes_amount=True, secrets=[client_secret], retryable_checkout=True)


BUILDERS = {"stripe": _stripe, "razorpay": _razorpay, "phonepe": _phonepe,
            "cashfree": _cashfree}


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def harness(request):
    built = BUILDERS[request.param]()
    yield built
    built.sim.stop()


@pytest.fixture
def provider(harness):
    return harness.provider()
