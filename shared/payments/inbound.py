"""Provider webhooks (inbound): verify, store the raw payload, then move a payment or refund.

Receiving and acting are split. The request verifies the provider's signature, stores the raw
body in ``provider_events`` (a duplicate event id is a no-op, so provider retries are
harmless) and enqueues ``gateway.process_provider_event`` in the same transaction, so the
provider gets its 2xx at once and a stored event is never lost. The task locks the payment
(or the refund's payment, then the refund) and applies the event through the same forward-only
functions the worker uses, so a late or out-of-order event never moves a status backwards.

The task reads the event back from the stored payload without verifying it again: it was
verified on receipt, and a second check would fail on the providers' freshness windows
whenever the queue is slow.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shared import outbox
from shared.db import utcnow
from shared.errors import (
    InvalidRequest,
    NotFound,
    ProviderError,
    ProviderUnavailable,
    WebhookVerificationError,
)
from shared.payments.models import Payment, ProviderEvent
from shared.payments.processing import apply_payment_result
from shared.providers.base import InboundEvent, Outcome, PaymentResult, RefundResult
from shared.providers.registry import get_provider
from shared.refunds.models import Refund
from shared.refunds.processing import apply_refund_result, lock_refund_and_payment

log = logging.getLogger(__name__)

PROCESS_TASK = "gateway.process_provider_event"
PROCESS_QUEUE = "payments"


# The providers that call us back (the sandbox does not).
WEBHOOK_PROVIDERS = ("stripe", "razorpay", "phonepe", "cashfree")


def verify_webhook(config, provider_name: str, headers: Mapping[str, str],
                   body: bytes) -> InboundEvent:
    """The provider's verified, translated event, or a 404 (not a provider that calls us) or
    400 (bad or stale signature, or webhooks not configured) that changes nothing."""
    if provider_name not in WEBHOOK_PROVIDERS:
        raise NotFound(f"No webhook endpoint for provider {provider_name!r}.")
    provider = get_provider(provider_name, config)
    try:
        return provider.parse_webhook(headers, body)
    except WebhookVerificationError as exc:
        # The code says which check failed; signatures and secrets never reach the log.
        log.warning("%s webhook rejected: %s", provider_name, exc.code)
        raise InvalidRequest(exc.message, code=exc.code) from None
    except ProviderUnavailable as exc:
        log.error("%s webhook received but %s webhooks are not configured", provider_name,
                  provider_name)
        raise InvalidRequest(exc.message, code="provider_unavailable") from None


def record_webhook(session: Session, provider_name: str, event: InboundEvent,
                   body: bytes) -> bool:
    """Store a verified event and enqueue its processing. False for a duplicate (same
    provider event id), which stores and enqueues nothing."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    inserted = session.execute(
        dialect.insert(ProviderEvent)
        .values(provider=provider_name, provider_event_id=event.provider_event_id[:255],
                event_type=event.event_type[:128],
                payload=body.decode("utf-8", errors="replace"), status="received",
                received_at=utcnow())
        .on_conflict_do_nothing(index_elements=["provider", "provider_event_id"])
        .returning(ProviderEvent.id)).scalar_one_or_none()
    if inserted is None:
        return False
    outbox.enqueue(session, PROCESS_TASK, [inserted], PROCESS_QUEUE)
    return True


def read_stored_event(row: ProviderEvent, config) -> InboundEvent:
    provider = get_provider(row.provider, config)
    return provider.read_verified_webhook(row.provider_event_id, row.payload)


def process_provider_event(db, config, provider_event_id: int) -> str:
    """The worker's job for one stored event. Safe to run any number of times: a row that
    is no longer ``received`` is left alone."""
    with db.transaction() as session:
        row = session.get(ProviderEvent, provider_event_id, with_for_update=True)
        if row is None:
            return "missing"
        if row.status != "received":
            return f"already {row.status}"
        event = read_stored_event(row, config)
        try:
            changed, reason = _apply_event(session, row.provider, event)
        except ProviderError as exc:
            # The amount or currency disagrees with ours: nothing was changed (the check
            # comes before any update) and an operator must look.
            log.error("%s event %s not applied: %s", row.provider, row.id, exc.code)
            changed, reason = False, f"{exc.code}: {exc.message}"
        row.status = "processed" if changed else "ignored"
        row.result = reason[:500]
        row.processed_at = utcnow()
        return row.status


def _truncated(message: str | None) -> str | None:
    return message[:500] if message else None


def _apply_event(session: Session, provider_name: str, event: InboundEvent) -> tuple[bool, str]:
    if event.kind == "payment" and event.outcome is not None:
        return _apply_payment_event(session, provider_name, event, event.outcome)
    if event.kind == "refund" and event.outcome is not None:
        return _apply_refund_event(session, provider_name, event, event.outcome)
    return False, f"event type {event.event_type!r} is not one the gateway acts on"


def _locked_payment(session: Session, provider_name: str,
                    event: InboundEvent) -> Payment | None:
    payment = None
    if event.payment_id:
        payment = session.get(Payment, event.payment_id, with_for_update=True)
    if payment is None and event.provider_payment_id:
        payment = session.scalars(
            select(Payment).where(Payment.provider == provider_name,
                                  Payment.provider_payment_id == event.provider_payment_id)
            .limit(1).with_for_update()).first()
    if payment is None or payment.provider != provider_name:
        return None
    return payment


def _apply_payment_event(session: Session, provider_name: str, event: InboundEvent,
                         outcome: Outcome) -> tuple[bool, str]:
    """``outcome`` is ``event.outcome``, which the caller checked is not None."""
    payment = _locked_payment(session, provider_name, event)
    if payment is None:
        return False, "no payment of ours matches this event"
    before = payment.status
    result = PaymentResult(outcome=outcome, provider_payment_id=event.provider_payment_id,
                           amount=event.amount, currency=event.currency,
                           failure_code=event.failure_code,
                           failure_message=_truncated(event.failure_message))
    if apply_payment_result(session, payment, result):
        return True, f"payment {payment.id}: {before} -> {payment.status}"
    if outcome is Outcome.SUCCEEDED and before in ("failed", "canceled"):
        # The customer paid after we had given up on the payment (a retry inside the
        # provider's checkout): money moved that we report as not moved. Loud, for a human.
        log.error("%s reports payment %s succeeded but it is %s; needs a refund or review",
                  provider_name, payment.id, before)
    return False, (f"payment {payment.id} is {payment.status}; a {outcome.value} "
                   "event does not move it")


def _apply_refund_event(session: Session, provider_name: str, event: InboundEvent,
                        outcome: Outcome) -> tuple[bool, str]:
    """``outcome`` is ``event.outcome``, which the caller checked is not None."""
    refund = session.get(Refund, event.refund_id) if event.refund_id else None
    if refund is None and event.provider_refund_id:
        # No id of ours in the event: search only among the refunds of the payment it names.
        payment = _locked_payment(session, provider_name, event)
        if payment is not None:
            refund = session.scalars(select(Refund).where(
                Refund.payment_id == payment.id,
                Refund.provider_refund_id == event.provider_refund_id).limit(1)).first()
    if refund is None:
        return False, "no refund of ours matches this event"
    locked = lock_refund_and_payment(session, refund.id)
    if locked is None:
        # Found just above in this transaction, and refunds are never deleted.
        raise RuntimeError(f"refund {refund.id} disappeared while it was being locked")
    refund, payment = locked
    if payment.provider != provider_name:
        return False, "no refund of ours matches this event"
    before = refund.status
    result = RefundResult(outcome=outcome, provider_refund_id=event.provider_refund_id,
                          amount=event.amount, currency=event.currency,
                          failure_code=event.failure_code,
                          failure_message=_truncated(event.failure_message))
    if apply_refund_result(session, refund, payment, result):
        return True, f"refund {refund.id}: {before} -> {refund.status}"
    return False, (f"refund {refund.id} is {refund.status}; a {outcome.value} "
                   "event does not move it")
