"""Moving a payment forward: what the ``process_payment`` task, provider webhooks, the verify
endpoint and reconciliation all share.

The row is locked (``SELECT ... FOR UPDATE``) for every status change and the change is a
compare-and-set against the status machine, so duplicate or late work cannot move a status
backwards. No lock is held across a provider call: the call happens between two short
transactions, with our payment id as the provider's idempotency key, so a task that runs
twice (redelivery after a crash, a duplicate publish) never charges twice.
"""
from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class _Claim:
    """What the provider call needs of a payment claimed by the first transaction."""
    payment_id: str
    merchant_id: str
    provider_name: str
    provider_payment_id: str | None
    expired: bool
    request: PaymentRequest
    asked: Asked


def _claim(session: Session, config, payment: LockedPayment) -> _Claim | str:
    """The first transaction's work for one locked payment: to processing, the risk decision,
    one more attempt. An outcome string when there is nothing to call the provider for."""
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
    return _Claim(payment_id=payment.id, merchant_id=payment.merchant_id,
                  provider_name=payment.provider,
                  provider_payment_id=payment.provider_payment_id,
                  expired=payment.created_at < utcnow() - timedelta(
                      seconds=config.checkout_expiry_s),
                  request=_request(payment, config), asked=Asked.of(payment))


def _call(db, config, claim: _Claim) -> PaymentResult | str:
    """The provider call between the two transactions (no lock held)."""
    payment_id, provider_payment_id = claim.payment_id, claim.provider_payment_id
    provider = get_provider(claim.provider_name, config, db)
    if provider_payment_id is not None:
        # The provider already has it (a checkout waiting for the customer): ask, don't create.
        def fn():
            return provider.fetch_payment(payment_id, provider_payment_id)
        operation = "fetch_payment"
    else:
        def fn():
            return provider.create_payment(claim.request)
        operation = "create_payment"
    result = settle_provider_call(db, config, fn, PaymentResult, merchant_id=claim.merchant_id,
                                  provider=claim.provider_name, operation=operation,
                                  asked=claim.asked, payment_id=payment_id,
                                  on_mismatch=lambda exc: flag_after_provider_mismatch(
                                      db, Payment, payment_id, exc))
    if isinstance(result, str):
        return result
    if provider_payment_id is not None and claim.expired and \
            result.outcome is Outcome.PROCESSING:
        # The customer never finished the provider's checkout; stop polling. A capture that
        # still arrives later is recorded and logged for an operator (see inbound events).
        result = PaymentResult(outcome=Outcome.FAILED, failure_code="checkout_expired",
                               failure_message="The customer did not complete the checkout "
                                               "in time.")
    return result


def process_payment(db, config, payment_id: str) -> str:
    """The worker's job for one payment. Safe to run any number of times."""
    return process_payments(db, config, [payment_id])[0]


def process_payments(db, config, payment_ids: list[str]) -> list[str]:
    """The worker's job for several payments (the outcome of each, in the order given), in
    two transactions for all of them: one claims them (rows locked in id order), one settles
    them; the provider calls run between, one after another. Safe to run any number of
    times. An exception rolls back the transaction it happens in for every payment of it."""
    outcomes: dict[str, str] = {}
    claims: list[_Claim] = []
    with db.transaction() as session:
        locked = LockedPayment.lock_many(session, payment_ids)
        for payment_id in sorted(set(payment_ids)):
            payment = locked.get(payment_id)
            claimed = "missing" if payment is None else _claim(session, config, payment)
            if isinstance(claimed, str):
                outcomes[payment_id] = claimed
            else:
                claims.append(claimed)
    results: dict[str, PaymentResult] = {}
    for claim in claims:
        answer = _call(db, config, claim)
        if isinstance(answer, str):
            outcomes[claim.payment_id] = answer
        else:
            results[claim.payment_id] = answer
    if results:
        outcomes.update(settle_payments(db, results))
    return [outcomes[payment_id] for payment_id in payment_ids]


def settle_payments(db, results: dict[str, PaymentResult]) -> dict[str, str]:
    """The worker's second transaction: apply each provider's answer to its locked payment
    (forward only), with its event and, for a completed payment, the order's update."""
    outcomes = {}
    with db.transaction() as session:
        locked = LockedPayment.lock_many(session, list(results), with_receipts=True)
        for payment_id in sorted(results):
            payment = locked.get(payment_id)
            if payment is None:
                raise RuntimeError(f"payment {payment_id} vanished between claim and settle")
            changed = apply_payment_result(session, payment, results[payment_id])
            payment.save(session)
            outcomes[payment_id] = payment.status if changed else f"unchanged {payment.status}"
    return outcomes
