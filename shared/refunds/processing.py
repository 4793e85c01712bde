"""Moving a refund forward (the ``process_refund`` task, provider webhooks, reconciliation).

Lock order is always payment, then refund, so two tasks never deadlock. A completed refund
adds to the payment's ``amount_refunded``; a failed one gives its reservation back.
"""
from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.events.service import record_event
from shared.ledger import posting as ledger_posting
from shared.notifications import triggers as notification_triggers
from shared.payments.models import Payment
from shared.payments.processing import move_payment
from shared.payments.review import flag_after_provider_mismatch
from shared.payments.states import PaymentStatus, RefundStatus, refund_can_move
from shared.providers.base import Outcome, RefundRequest, RefundResult
from shared.providers.calls import settle_provider_call
from shared.providers.integrity import Asked
from shared.providers.registry import get_provider
from shared.refunds.models import Refund
from shared.representation import payment_object, refund_object


def move_refund(session: Session, refund: Refund, new_status: str) -> bool:
    if not refund_can_move(refund.status, new_status):
        return False
    refund.status = new_status
    refund.updated_at = utcnow()
    if new_status in (RefundStatus.COMPLETED, RefundStatus.FAILED):
        obj, event_type = refund_object(refund), f"refund.{new_status}"
        record_event(session, refund.merchant_id, event_type, obj)
        payment = session.get(Payment, refund.payment_id)  # locked and loaded by the caller
        notification_triggers.on_event(session, refund.merchant_id, event_type, obj,  # receipts
                                       payment=payment_object(payment) if payment else None)
    return True


def lock_refund_and_payment(session: Session, refund_id: str) -> tuple[Refund, Payment] | None:
    refund = session.get(Refund, refund_id)
    if refund is None:
        return None
    payment = session.get(Payment, refund.payment_id, with_for_update=True)
    if payment is None:
        # payment_id is a foreign key and payments are never deleted.
        raise RuntimeError(f"refund {refund_id} names payment {refund.payment_id}, "
                           "which does not exist")
    session.refresh(refund, with_for_update=True)
    return refund, payment


def add_to_payment(session: Session, payment: Payment, **deltas: int) -> None:
    """Atomic increments in SQL (``SET x = x + n``), then the fresh values are read back."""
    values = {name: getattr(Payment, name) + delta for name, delta in deltas.items()}
    session.execute(update(Payment).where(Payment.id == payment.id)
                    .values(**values, updated_at=utcnow())
                    .execution_options(synchronize_session=False))
    session.refresh(payment, [*deltas, "updated_at"])


def apply_refund_result(session: Session, refund: Refund, payment: Payment,
                        result: RefundResult) -> bool:
    """Apply a provider's answer to a locked refund and its locked payment, forward only.
    The answer passed ``check_integrity`` where it arrived (``call_provider``, inbound
    events), so it is about this refund's amount, currency and provider object."""
    if result.provider_refund_id and refund.provider_refund_id is None:
        refund.provider_refund_id = result.provider_refund_id
    if result.outcome is Outcome.SUCCEEDED:
        if not move_refund(session, refund, RefundStatus.COMPLETED):
            return False
        ledger_posting.refund_completed(session, refund, payment)
        add_to_payment(session, payment, amount_refunded=refund.amount)
        full = payment.amount_refunded >= payment.amount
        move_payment(session, payment,
                     PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED,
                     "payment.refunded")
        return True
    if result.outcome is Outcome.FAILED:
        refund.failure_code = result.failure_code or "refund_failed"
        refund.failure_message = result.failure_message
        if not move_refund(session, refund, RefundStatus.FAILED):
            return False
        add_to_payment(session, payment, amount_refund_reserved=-refund.amount)
        return True
    return False


def process_refund(db, config, refund_id: str) -> str:
    with db.transaction() as session:
        refund = session.get(Refund, refund_id, with_for_update=True)
        if refund is None:
            return "missing"
        if refund.status == RefundStatus.PENDING:
            move_refund(session, refund, RefundStatus.PROCESSING)
        elif refund.status != RefundStatus.PROCESSING:
            return f"already {refund.status}"
        refund.attempts += 1
        payment = session.get(Payment, refund.payment_id)
        request = RefundRequest(refund_id=refund.id, payment_id=payment.id,
                                provider_payment_id=payment.provider_payment_id,
                                amount=refund.amount, currency=refund.currency,
                                reason=refund.reason)
        merchant_id, provider_name = refund.merchant_id, payment.provider
        provider_refund_id = refund.provider_refund_id
        asked = Asked.of(refund)

    provider = get_provider(provider_name, config, db)
    if provider_refund_id is not None:
        def fn():
            return provider.fetch_refund(refund_id, provider_refund_id,
                                         request.provider_payment_id)
        operation = "fetch_refund"
    else:
        def fn():
            return provider.refund(request)
        operation = "refund"
    result = settle_provider_call(db, config, fn, RefundResult, merchant_id=merchant_id,
                                  provider=provider_name, operation=operation, asked=asked,
                                  refund_id=refund_id, payment_id=request.payment_id,
                                  on_mismatch=lambda exc: flag_after_provider_mismatch(
                                      db, Refund, refund_id, exc))
    if isinstance(result, str):
        return result

    with db.transaction() as session:
        locked = lock_refund_and_payment(session, refund_id)
        if locked is None:
            # Read in the first transaction above, and refunds are never deleted.
            raise RuntimeError(f"refund {refund_id} disappeared while it was processed")
        refund, payment = locked
        changed = apply_refund_result(session, refund, payment, result)
        return refund.status if changed else f"unchanged {refund.status}"
