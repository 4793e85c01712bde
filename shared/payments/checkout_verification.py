"""Razorpay Checkout's handoff: the merchant's page posts back what Checkout gave it.

The signature (HMAC of ``order_id|payment_id`` under our key secret) proves the customer
finished Checkout for *this* payment's order; it does not say how much was captured, so the
payment only moves after the provider confirms it (``fetch_payment``, whose answer must pass
``check_integrity`` like every provider answer; a mismatch flags the payment for review),
through the same forward-only ``apply_payment_result`` as the worker and the webhooks.
Whichever of the three arrives first completes the payment; the others change nothing.

Like ``process_payment``, no row lock is held across the provider call: a read, the call
(recorded in ``transaction_attempts``), then one short locked transaction for the change.
"""
from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable

from shared.errors import Conflict, InvalidRequest, ProviderError
from shared.payments import service as payment_service
from shared.payments.models import Payment
from shared.payments.processing import apply_payment_result
from shared.payments.review import flag_after_provider_mismatch, flag_late_capture
from shared.payments.states import PaymentStatus
from shared.providers.base import Outcome
from shared.providers.calls import call_provider
from shared.providers.integrity import Asked, IntegrityMismatch
from shared.providers.registry import get_provider

log = logging.getLogger(__name__)

PROVIDER = "razorpay"


@runtime_checkable
class ChecksCheckoutSignature(Protocol):
    """A provider with a browser checkout whose handoff carries a signature
    (``RazorpayProvider``); not part of the general ``Provider`` interface."""

    def verify_checkout_signature(self, order_id: str, payment_id: str,
                                  signature: str) -> bool: ...


def verify_razorpay_checkout(db, config, merchant_id: str, payment_id: str,
                             handoff: dict) -> Payment:
    """Check Checkout's signature for the merchant's payment and, when it holds, confirm the
    payment with Razorpay and apply the answer. Returns the payment as it now is."""
    with db.transaction() as session:
        payment = payment_service.get_payment(session, merchant_id, payment_id)
        provider_name, order_id, status = (payment.provider, payment.provider_payment_id,
                                           payment.status)
        asked = Asked.of(payment)
    if provider_name != PROVIDER:
        raise InvalidRequest(f"Payment {payment_id} is not a Razorpay payment; only Razorpay "
                             "Checkout payments are verified here.",
                             code="verification_not_supported")
    if order_id is None:
        raise Conflict(f"Payment {payment_id} has no Razorpay order yet; open Checkout with "
                       "the order in its next_action first.", code="payment_not_in_checkout")
    provider = get_provider(PROVIDER, config, db)
    if not isinstance(provider, ChecksCheckoutSignature):
        raise RuntimeError(f"the {PROVIDER!r} provider cannot verify Checkout signatures")
    # The signature is checked against *our* order id, so a signature Checkout issued for
    # another order (another payment, perhaps a cheaper one) never verifies this payment.
    signed_for_this_order = handoff["razorpay_order_id"] == order_id
    if not (signed_for_this_order and provider.verify_checkout_signature(
            order_id, handoff["razorpay_payment_id"], handoff["razorpay_signature"])):
        log.warning("payment %s: Razorpay Checkout signature did not verify", payment_id)
        raise InvalidRequest("The Razorpay signature does not match this payment's order.",
                             code="signature_invalid", param="razorpay_signature")
    if status not in (PaymentStatus.PROCESSING, PaymentStatus.FAILED, PaymentStatus.CANCELED):
        return _current(db, payment_id)  # already settled (by a webhook, a poll, a retry)

    try:
        result = call_provider(
            db, config, lambda: provider.fetch_payment(payment_id, order_id),
            merchant_id=merchant_id, provider=PROVIDER, operation="fetch_payment",
            payment_id=payment_id, asked=asked)
    except IntegrityMismatch as exc:
        # Razorpay captured another amount than ours: not completed, flagged for review,
        # the same outcome as a poll or a webhook with that answer.
        flag_after_provider_mismatch(db, Payment, payment_id, exc)
        return _current(db, payment_id)
    except ProviderError as exc:
        # The customer paid (the signature says so); the status poll or the webhook will
        # confirm it. The merchant sees the payment still processing.
        log.warning("payment %s: Razorpay confirmation failed (%s); left processing",
                    payment_id, exc.code)
        return _current(db, payment_id)

    with db.transaction() as session:
        payment = session.get(Payment, payment_id, with_for_update=True)
        if payment.status in (PaymentStatus.FAILED, PaymentStatus.CANCELED):
            # The customer paid this order after we had given up on it: a late capture.
            if result.outcome is Outcome.SUCCEEDED:
                flag_late_capture(session, payment, PROVIDER)
            return payment
        apply_payment_result(session, payment, result)
        return payment


def _current(db, payment_id: str) -> Payment:
    with db.transaction() as session:
        return session.get(Payment, payment_id)
