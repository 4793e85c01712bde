"""Provider webhooks (inbound): verify, store the raw payload, then move a payment or refund.

Receiving and acting are split. The request verifies the provider's signature, stores the raw
body in ``provider_events`` (a duplicate event id is a no-op, so provider retries are
harmless) and enqueues ``gateway.process_provider_event`` in the same transaction, so the
provider gets its 2xx at once and a stored event is never lost. The task locks the payment
(or the refund's payment, then the refund) and applies the event through the same forward-only
functions the worker uses, so a late or out-of-order event never moves a status backwards.

Binding: an event moves a payment only when it is about the provider object we created for
that payment (``provider_payment_id``: the Razorpay order, the Stripe intent, the PhonePe /
Cashfree transaction, which is our own id), never because of ids echoed in notes or metadata,
which a customer can set in a browser checkout. An event whose claimed ids disagree with the
bound payment or refund is refused: stored as ``mismatch``, logged, nothing changed. So is
one whose amount, currency or provider object fails ``check_integrity`` against the bound
object, which is also flagged for review (``shared.payments.review``), as a poll would.

A failed attempt inside a checkout (``InboundEvent.attempt_only``) leaves the payment open; a
capture for a payment that is already final is flagged for an operator and reaches the
merchant as ``payment.late_capture`` (``shared.payments.review``).

The task reads the event back from the stored payload without verifying it again: it was
verified on receipt, and a second check would fail on the providers' freshness windows
whenever the queue is slow.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shared import jobs, outbox
from shared.db import utcnow
from shared.errors import (
    InvalidRequest,
    NotFound,
    ProviderUnavailable,
    WebhookVerificationError,
)
from shared.payments.models import Payment
from shared.payments.processing import apply_payment_result
from shared.payments.review import flag_late_capture, settle_integrity_mismatch
from shared.payments.states import PaymentStatus, ProviderEventStatus
from shared.provider_events.models import ProviderEvent
from shared.providers.base import InboundEvent, Outcome, PaymentResult, RefundResult
from shared.providers.integrity import IntegrityMismatch, check_integrity
from shared.providers.redaction import REDACTED, is_secret_key
from shared.providers.registry import get_provider
from shared.refunds.models import Refund
from shared.refunds.processing import apply_refund_result, lock_refund_and_payment

log = logging.getLogger(__name__)



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
    payload = stored_payload(provider_name, body)
    inserted = session.execute(
        dialect.insert(ProviderEvent)
        .values(provider=provider_name,
                provider_event_id=event.provider_event_id.replace("\x00", "")[:255],
                event_type=event.event_type.replace("\x00", "")[:128],
                payload=payload, status=ProviderEventStatus.RECEIVED,
                received_at=utcnow())
        .on_conflict_do_nothing(index_elements=["provider", "provider_event_id"])
        .returning(ProviderEvent.id)).scalar_one_or_none()
    if inserted is None:
        return False
    outbox.enqueue(session, jobs.PROCESS_PROVIDER_EVENT, [inserted])
    return True


# Personal data a provider event may carry and the gateway never acts on: a key containing a
# long fragment, or equal to / prefixed / suffixed by a short one (so "ip" masks "client_ip"
# but not "receipt").
_PERSONAL_LONG = ("email", "phone", "mobile", "contact", "address", "billing_details",
                  "customer_details", "bank_account", "card_number")
_PERSONAL_SHORT = ("vpa", "name", "card", "upi", "ip")
_KEEP = frozenset({"type", "event", "entity", "order_tags", "notes", "metadata"})


def _drop(key) -> bool:
    lowered = str(key).lower()
    if lowered in _KEEP:
        return False
    return (is_secret_key(lowered) or any(f in lowered for f in _PERSONAL_LONG)
            or any(lowered == f or lowered.startswith(f + "_") or lowered.endswith("_" + f)
                   for f in _PERSONAL_SHORT))


def _redacted_value(value):
    if isinstance(value, dict):
        return {key: REDACTED if _drop(key) else _redacted_value(item)
                for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted_value(item) for item in value]
    return value


def stored_payload(provider_name: str, body: bytes) -> str:
    """The payload as stored in ``provider_events``: secrets (``client_secret``) and personal
    data (emails, phones, names, VPAs, card details) masked like ``transaction_attempts``,
    everything the gateway reads back kept. Decimal numbers are kept exactly, as strings
    (Cashfree's amounts are read with ``from_major_string`` either way). PhonePe's base64
    ``response`` is decoded, masked and encoded again. A body that is not JSON is stored as
    the text it is (it was verified as is)."""
    text = body.decode("utf-8", errors="replace")
    try:
        event = json.loads(text, parse_float=str)
    except ValueError:
        return text
    if provider_name == "phonepe" and isinstance(event, dict) and isinstance(
            event.get("response"), str):
        try:
            inner = json.loads(base64.b64decode(event["response"]), parse_float=str)
        except (ValueError, binascii.Error):
            return text
        encoded = base64.b64encode(json.dumps(_redacted_value(inner)).encode()).decode()
        return json.dumps({**event, "response": encoded})
    return json.dumps(_redacted_value(event))


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
        if row.status != ProviderEventStatus.RECEIVED:
            return f"already {row.status}"
        event = read_stored_event(row, config)
        try:
            changed, reason = _apply_event(session, row.provider, event)
            status = ProviderEventStatus.PROCESSED if changed else ProviderEventStatus.IGNORED
        except EventMismatch as exc:
            # Someone (perhaps a customer editing Checkout's notes) pointed a real event at
            # another object of ours. Nothing was changed: the check precedes any update.
            log.error("%s event %s refused, mismatch: %s", row.provider, row.id, exc)
            status, reason = ProviderEventStatus.MISMATCH, f"mismatch: {exc}"
        except IntegrityMismatch as exc:
            # The amount, currency or object disagrees with ours: nothing was changed (the
            # check comes before any update) and the object is flagged for an operator.
            log.error("%s event %s refused, %s: %s", row.provider, row.id, exc.code,
                      exc.message)
            status, reason = ProviderEventStatus.MISMATCH, f"{exc.code}: {exc.message}"
        row.status = status
        row.result = reason[:500]
        row.processed_at = utcnow()
        return row.status


class EventMismatch(Exception):
    """The event's claimed ids disagree with the object it is bound to."""


# Providers whose payment object id is our own payment id (PhonePe's merchant transaction
# id, Cashfree's order id): an event can be bound before provider_payment_id is stored.
_OWN_ID_PROVIDERS = frozenset({"phonepe", "cashfree"})


def _truncated(message: str | None) -> str | None:
    # Provider text can carry a NUL (escaped in its JSON), which PostgreSQL cannot store.
    return message.replace("\x00", "")[:500] if message else None


def _apply_event(session: Session, provider_name: str, event: InboundEvent) -> tuple[bool, str]:
    if event.kind == "payment" and event.outcome is not None:
        return _apply_payment_event(session, provider_name, event, event.outcome)
    if event.kind == "refund" and event.outcome is not None:
        return _apply_refund_event(session, provider_name, event, event.outcome)
    return False, f"event type {event.event_type!r} is not one the gateway acts on"


def _bound_payment(session: Session, provider_name: str, event: InboundEvent,
                   lock: bool = True) -> Payment | None:
    """The payment whose provider object the event is about (locked), or None. Raises
    EventMismatch when the event claims another payment of ours."""
    payment = None
    if event.provider_payment_id:
        query = select(Payment).where(Payment.provider == provider_name,
                                      Payment.provider_payment_id == event.provider_payment_id)
        payment = session.scalars((query.with_for_update() if lock else query).limit(1)).first()
        if payment is None and provider_name in _OWN_ID_PROVIDERS:
            candidate = session.get(Payment, event.provider_payment_id, with_for_update=lock)
            if (candidate is not None and candidate.provider == provider_name
                    and candidate.provider_payment_id is None):
                payment = candidate
    if payment is None:
        claimed = session.get(Payment, event.payment_id) if event.payment_id else None
        # A claimed payment that never learned its provider object id (the create call
        # timed out) is left to the status poll, which finds the object by our own id.
        if claimed is not None and claimed.provider_payment_id is not None:
            raise EventMismatch(f"the event names payment {event.payment_id} but is about "
                                f"{provider_name} object {event.provider_payment_id!r}, "
                                "which is not that payment's")
        return None
    if event.payment_id and event.payment_id != payment.id:
        raise EventMismatch(f"the event names payment {event.payment_id} but is about "
                            f"{payment.id}'s {provider_name} object")
    return payment


def _apply_payment_event(session: Session, provider_name: str, event: InboundEvent,
                         outcome: Outcome) -> tuple[bool, str]:
    """``outcome`` is ``event.outcome``, which the caller checked is not None."""
    payment = _bound_payment(session, provider_name, event)
    if payment is None:
        return False, "no payment of ours matches this event"
    before = payment.status
    if outcome is Outcome.FAILED and event.attempt_only:
        return False, (f"payment {payment.id}: one checkout attempt failed "
                       f"({event.failure_code}); the checkout stays open until it expires")
    result = PaymentResult(outcome=outcome, provider_payment_id=event.provider_payment_id,
                           amount=event.amount, currency=event.currency,
                           failure_code=event.failure_code,
                           failure_message=_truncated(event.failure_message))
    _check_or_flag(session, payment, result, provider_name)
    if outcome is Outcome.SUCCEEDED and before in (PaymentStatus.FAILED, PaymentStatus.CANCELED):
        # The customer paid after we had given up on the payment (a retry inside the
        # provider's checkout after it expired): money moved that we report as not moved.
        if flag_late_capture(session, payment, provider_name):
            return True, f"payment {payment.id} is {before}: late capture flagged"
        return False, f"payment {payment.id} is {before}; late capture already flagged"
    if apply_payment_result(session, payment, result):
        return True, f"payment {payment.id}: {before} -> {payment.status}"
    return False, (f"payment {payment.id} is {payment.status}; a {outcome.value} "
                   "event does not move it")


def _check_or_flag(session: Session, obj: Payment | Refund, result: PaymentResult | RefundResult,
                   provider_name: str) -> None:
    """The integrity check of an event against the bound (locked) object; a mismatch flags
    it for review, like a poll's (``settle_integrity_mismatch``), and is raised on for the
    event row to end ``mismatch``."""
    try:
        check_integrity(obj, result, provider_name)
    except IntegrityMismatch as exc:
        settle_integrity_mismatch(session, obj, exc)
        raise


def _bound_refund(session: Session, provider_name: str, event: InboundEvent) -> Refund | None:
    """The refund the event is about, or None; EventMismatch when its ids disagree."""
    refund = None
    if event.provider_refund_id:
        refund = session.scalars(
            select(Refund).join(Payment, Payment.id == Refund.payment_id)
            .where(Payment.provider == provider_name,
                   Refund.provider_refund_id == event.provider_refund_id).limit(1)).first()
    if refund is None and event.refund_id:
        refund = session.get(Refund, event.refund_id)
        if refund is not None and refund.provider_refund_id is not None and (
                refund.provider_refund_id != event.provider_refund_id):
            raise EventMismatch(f"the event names refund {refund.id} but is about "
                                f"{provider_name} refund {event.provider_refund_id!r}")
    if refund is None:
        return None
    if event.refund_id and event.refund_id != refund.id:
        raise EventMismatch(f"the event names refund {event.refund_id} but is about "
                            f"{refund.id}'s {provider_name} refund")
    payment = session.get(Payment, refund.payment_id)
    if payment is None or payment.provider != provider_name:
        return None
    if event.provider_payment_id and payment.provider_payment_id != event.provider_payment_id:
        raise EventMismatch(f"the event is about {provider_name} payment object "
                            f"{event.provider_payment_id!r}, refund {refund.id} belongs to "
                            f"payment {payment.id}")
    if event.payment_id and event.payment_id != payment.id:
        raise EventMismatch(f"the event names payment {event.payment_id}, refund {refund.id} "
                            f"belongs to payment {payment.id}")
    return refund


def _apply_refund_event(session: Session, provider_name: str, event: InboundEvent,
                        outcome: Outcome) -> tuple[bool, str]:
    """``outcome`` is ``event.outcome``, which the caller checked is not None."""
    refund = _bound_refund(session, provider_name, event)
    if refund is None:
        return False, "no refund of ours matches this event"
    locked = lock_refund_and_payment(session, refund.id)
    if locked is None:
        # Found just above in this transaction, and refunds are never deleted.
        raise RuntimeError(f"refund {refund.id} disappeared while it was being locked")
    refund, payment = locked
    before = refund.status
    result = RefundResult(outcome=outcome, provider_refund_id=event.provider_refund_id,
                          amount=event.amount, currency=event.currency,
                          failure_code=event.failure_code,
                          failure_message=_truncated(event.failure_message))
    _check_or_flag(session, refund, result, provider_name)
    if apply_refund_result(session, refund, payment, result):
        return True, f"refund {refund.id}: {before} -> {refund.status}"
    return False, (f"refund {refund.id} is {refund.status}; a {outcome.value} "
                   "event does not move it")
