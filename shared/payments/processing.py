"""Moving a payment forward: what the ``process_payment`` task, provider webhooks, the verify
endpoint and reconciliation all share.

The row is locked (``SELECT ... FOR UPDATE``) for every status change and the change is a
compare-and-set against the status machine, so duplicate or late work cannot move a status
backwards. No lock is held across a provider call: the call happens between two short
transactions, with our payment id as the provider's idempotency key, so a task that runs
twice (redelivery after a crash, a duplicate publish) never charges twice.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.events.service import record_event
from shared.ledger import posting as ledger_posting
from shared.notifications import triggers as notification_triggers
from shared.orders import service as order_service
from shared.payments.locked import LockedPayment, PaymentRow
from shared.payments.models import Payment
from shared.payments.review import flag_after_provider_mismatch
from shared.payments.states import PaymentStatus, payment_can_move
from shared.providers.base import Outcome, PaymentRequest, PaymentResult
from shared.providers.calls import settle_provider_call
from shared.providers.integrity import Asked
from shared.providers.registry import get_provider
from shared.representation import payment_object
from shared.risk import rules as risk_rules


def move_payment(session: Session, payment: PaymentRow, new_status: str, event_type: str) -> bool:
    """Compare-and-set under the caller's row lock; writes the event. False if not allowed."""
    if not payment_can_move(payment.status, new_status):
        return False
    payment.status = new_status
    payment.updated_at = utcnow()
    obj = payment_object(payment)
    record_event(session, payment.merchant_id, event_type, obj)
    notification_triggers.on_event(session, payment.merchant_id, event_type, obj,  # receipts
                                   receipts_on=getattr(payment, "receipts_on", None))
    return True


def apply_payment_result(session: Session, payment: PaymentRow, result: PaymentResult) -> bool:
    """Apply a provider's answer to a locked payment, forward only. Returns True if it changed
    the status. A late or out-of-order answer (a failure after completion) changes nothing.
    The answer passed ``check_integrity`` where it arrived (``call_provider``, inbound
    events), so it is about this payment's amount, currency and provider object."""
    if result.provider_payment_id and payment.status == PaymentStatus.PROCESSING:
        payment.provider_payment_id = result.provider_payment_id
    if result.outcome is Outcome.SUCCEEDED:
        payment.next_action = None if payment.status == PaymentStatus.PROCESSING \
            else payment.next_action
        if move_payment(session, payment, PaymentStatus.COMPLETED, "payment.completed"):
            ledger_posting.payment_completed(session, payment)
            if payment.order_id:
                order_service.mark_paid(session, payment.order_id, payment.amount)
            return True
        return False
    if result.outcome is Outcome.FAILED:
        if payment.status != PaymentStatus.PROCESSING:
            return False
        payment.failure_code = result.failure_code or "payment_failed"
        payment.failure_message = result.failure_message
        payment.next_action = None
        return move_payment(session, payment, PaymentStatus.FAILED, "payment.failed")
    # Still in progress (customer action needed, or the provider is not done yet).
    if payment.status == PaymentStatus.PROCESSING and result.next_action is not None:
        payment.next_action = result.next_action
        payment.updated_at = utcnow()
    return False


def _request(payment: PaymentRow, config) -> PaymentRequest:
    return PaymentRequest(
        payment_id=payment.id, amount=payment.amount, currency=payment.currency,
        method=dict(payment.payment_method or {}), customer=payment.customer,
        description=payment.description, order_id=payment.order_id,
        return_url=f"{config.providers.public_base_url}/checkout/return/{payment.id}")


def process_payment(db, config, payment_id: str) -> str:
    """The worker's job for one payment. Safe to run any number of times."""
    with db.transaction() as session:
        payment = LockedPayment.lock(session, payment_id)
        if payment is None:
            return "missing"
        if payment.status == PaymentStatus.PENDING:
            move_payment(session, payment, PaymentStatus.PROCESSING, "payment.processing")
        elif payment.status != PaymentStatus.PROCESSING:
            return f"already {payment.status}"
        if risk_rules.evaluate(session, config, payment).blocked:  # before any provider call
            move_payment(session, payment, PaymentStatus.FAILED, "payment.failed")
            payment.save(session)
            return "failed risk_blocked"
        payment.attempts += 1
        payment.save(session)
        provider_payment_id = payment.provider_payment_id
        expired = payment.created_at < utcnow() - timedelta(seconds=config.checkout_expiry_s)
        request = _request(payment, config)
        asked = Asked.of(payment)
        merchant_id, provider_name = payment.merchant_id, payment.provider

    provider = get_provider(provider_name, config, db)
    if provider_payment_id is not None:
        # The provider already has it (a checkout waiting for the customer): ask, don't create.
        def fn():
            return provider.fetch_payment(payment_id, provider_payment_id)
        operation = "fetch_payment"
    else:
        def fn():
            return provider.create_payment(request)
        operation = "create_payment"
    result = settle_provider_call(db, config, fn, PaymentResult, merchant_id=merchant_id,
                                  provider=provider_name, operation=operation,
                                  asked=asked, payment_id=payment_id,
                                  on_mismatch=lambda exc: flag_after_provider_mismatch(
                                      db, Payment, payment_id, exc))
    if isinstance(result, str):
        return result

    if provider_payment_id is not None and expired and result.outcome is Outcome.PROCESSING:
        # The customer never finished the provider's checkout; stop polling. A capture that
        # still arrives later is recorded and logged for an operator (see inbound events).
        result = PaymentResult(outcome=Outcome.FAILED, failure_code="checkout_expired",
                               failure_message="The customer did not complete the checkout "
                                               "in time.")

    return settle_payment(db, payment_id, result)


def settle_payment(db, payment_id: str, result: PaymentResult) -> str:
    """The worker's second transaction: apply the provider's answer to the locked payment
    (forward only), with its event and, for a completed payment, the order's update."""
    with db.transaction() as session:
        payment = LockedPayment.lock(session, payment_id, with_receipts=True)
        if payment is None:
            raise RuntimeError(f"payment {payment_id} vanished between claim and settle")
        changed = apply_payment_result(session, payment, result)
        payment.save(session)
        return payment.status if changed else f"unchanged {payment.status}"
