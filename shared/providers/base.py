"""The provider interface and its one result type.

Every provider module translates its wire format into these dataclasses and nothing else
leaves it: SDK objects, SDK exceptions and provider status strings stay inside the module.
The gateway's own payment/refund id is passed as the idempotency key of every provider call,
so a worker task that runs twice never charges or refunds twice.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol, TypedDict


class Outcome(str, Enum):
    SUCCEEDED = "succeeded"      # money moved (payment captured / refund made)
    FAILED = "failed"            # definitive decline; failure_code says why
    PROCESSING = "processing"    # accepted, not final: needs the customer or more time


@dataclass(frozen=True)
class PaymentRequest:
    payment_id: str              # our pay_... id; also the provider idempotency key
    amount: int                  # minor units
    currency: str                # ISO-4217, upper case
    method: Mapping              # the validated payment_method object of the API
    customer: Mapping | None = None
    description: str | None = None
    order_id: str | None = None          # our ord_... id, if any
    return_url: str | None = None        # where a redirect flow sends the customer back


@dataclass(frozen=True)
class PaymentResult:
    outcome: Outcome
    provider_payment_id: str | None = None
    amount: int | None = None
    currency: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    # What the merchant's front end must do for a customer-facing flow, e.g.
    # {"type": "redirect", "url": ...} or
    # {"type": "razorpay_checkout", "order_id": ..., "key_id": ...}
    next_action: dict | None = None
    # Redacted request/response, stored in transaction_attempts. Never a secret.
    request: dict = field(default_factory=dict)
    response: dict = field(default_factory=dict)


class PaymentResultFields(TypedDict, total=False):
    """``PaymentResult`` keyword arguments a provider module works out once and passes to
    every outcome branch of one translation: ``PaymentResult(outcome=..., **fields)``."""
    provider_payment_id: str | None
    amount: int | None
    currency: str | None
    request: dict
    response: dict


@dataclass(frozen=True)
class RefundRequest:
    refund_id: str               # our rfnd_... id; also the provider idempotency key
    payment_id: str
    provider_payment_id: str | None
    amount: int
    currency: str
    reason: str | None = None


@dataclass(frozen=True)
class RefundResult:
    outcome: Outcome
    provider_refund_id: str | None = None
    amount: int | None = None
    currency: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    request: dict = field(default_factory=dict)
    response: dict = field(default_factory=dict)


@dataclass(frozen=True)
class InboundEvent:
    """A verified provider webhook, translated. ``kind`` is "payment", "refund" or None when
    the event is about something we do not handle (stored and acknowledged, changes nothing).

    The gateway binds an event to a payment by ``provider_payment_id`` (the provider object
    we created and stored: order id, intent id) and to a refund by ``provider_refund_id`` or
    our refund id within that payment. ``payment_id`` / ``refund_id`` are only what the event
    *claims* (echoed notes, metadata, tags, receipts; some of them settable by the customer):
    when they disagree with the bound object the event is refused as a mismatch."""
    provider_event_id: str
    event_type: str                       # the provider's own type string
    kind: str | None
    outcome: Outcome | None = None
    payment_id: str | None = None         # the pay_... id the event claims, if any
    refund_id: str | None = None          # the rfnd_... id the event claims, if any
    provider_payment_id: str | None = None
    provider_refund_id: str | None = None
    # True when a FAILED outcome describes one attempt inside a checkout the customer may
    # retry (Razorpay payment.failed, Cashfree PAYMENT_FAILED / USER_DROPPED): it does not
    # make the payment final; the checkout stays open until it expires.
    attempt_only: bool = False
    amount: int | None = None
    currency: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None


class Provider(Protocol):
    name: str

    def missing_credentials(self) -> list[str]:
        """Names of the environment variables this provider needs and does not have."""

    def create_payment(self, request: PaymentRequest) -> PaymentResult:
        """Create (and where the method allows, confirm) a payment. Idempotent on
        ``request.payment_id``. Raises ProviderTransientError / ProviderConfigError."""

    def fetch_payment(self, payment_id: str, provider_payment_id: str | None) -> PaymentResult:
        """The provider's current view of a payment (for polling and reconciliation)."""

    def refund(self, request: RefundRequest) -> RefundResult:
        """Refund part or all of a captured payment. Idempotent on ``request.refund_id``."""

    def fetch_refund(self, refund_id: str, provider_refund_id: str | None,
                     provider_payment_id: str | None) -> RefundResult:
        """The provider's current view of a refund."""

    def read_verified_webhook(self, provider_event_id: str, payload: str) -> InboundEvent:
        """Translate a payload ``parse_webhook`` already verified and the gateway stored."""

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> InboundEvent:
        """Verify an inbound webhook (signature, freshness) and translate it. Raises
        WebhookVerificationError on a bad or stale signature."""
