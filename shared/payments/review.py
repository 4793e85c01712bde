"""Payments an operator must look at: money moved in a way the status cannot say.

- ``late_capture``: the provider captured money for a payment that is already final (failed
  or canceled), e.g. the customer paid in a checkout after it had expired. The gateway does
  not refund on its own (the merchant may prefer to ship): the payment keeps its status,
  gets ``review_reason = "late_capture"`` and the merchant hears ``payment.late_capture``
  once. See docs/providers.md.
- ``amount_mismatch`` (payments and refunds): the provider's answer (to a create, a status
  poll, a webhook or a Checkout verification) reports another amount or currency than ours;
  ``object_mismatch``: it is about another provider object than the one we stored. Either
  way ``shared.providers.integrity.check_integrity`` refused it and
  ``settle_integrity_mismatch`` is the one outcome: nothing is completed or failed, the
  object keeps its status and gets the reason, an ERROR log line says what disagreed, the
  sweeper stops asking (it would get the same answer forever); an operator settles it.

``review_reason`` is set once; a repeated signal (a second webhook about the same capture)
changes nothing.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.events.service import record_event
from shared.metrics import PROVIDER_INTEGRITY_MISMATCHES
from shared.payments.models import Payment
from shared.providers.integrity import IntegrityMismatch
from shared.representation import payment_object

log = logging.getLogger(__name__)

LATE_CAPTURE = "late_capture"
AMOUNT_MISMATCH = "amount_mismatch"
OBJECT_MISMATCH = "object_mismatch"
LATE_CAPTURE_EVENT = "payment.late_capture"


class Reviewable(Protocol):
    """A payment or a refund (this module sits below refunds, so it names neither)."""
    id: str
    review_reason: str | None
    updated_at: datetime


def flag_late_capture(session: Session, payment: Payment, provider_name: str) -> bool:
    """Flag a capture reported for a final payment (locked by the caller). True the first
    time, when the merchant's ``payment.late_capture`` event is written."""
    if payment.review_reason == LATE_CAPTURE:
        return False
    log.error("late capture: %s reports payment %s captured but it is %s; flagged for an "
              "operator (refund or fulfil)", provider_name, payment.id, payment.status)
    payment.review_reason = LATE_CAPTURE
    payment.updated_at = utcnow()
    record_event(session, payment.merchant_id, LATE_CAPTURE_EVENT, payment_object(payment))
    return True


def settle_integrity_mismatch(session: Session, obj: Reviewable,
                              exc: IntegrityMismatch) -> bool:
    """The one outcome of an answer ``check_integrity`` refused, for a payment or refund
    locked by the caller: flagged for review (once), nothing else changed. True the first
    time. The log line carries ids, amounts and currencies, never a secret."""
    reason = AMOUNT_MISMATCH if exc.field in ("amount", "currency") else OBJECT_MISMATCH
    log.error("%s flagged for review (%s), not settled: %s", obj.id, reason, exc.message)
    PROVIDER_INTEGRITY_MISMATCHES.labels(type(obj).__name__.lower(), exc.field).inc()
    if obj.review_reason is not None:
        return False
    obj.review_reason = reason
    obj.updated_at = utcnow()
    return True


def flag_after_provider_mismatch(db, model: type, object_id: str,
                                 exc: IntegrityMismatch) -> None:
    """A provider call's answer failed the integrity check: flag the object (a ``Payment``
    or ``Refund`` row) in its own transaction (the worker holds no lock across the call)."""
    with db.transaction() as session:
        obj = session.get(model, object_id, with_for_update=True)
        if obj is not None:
            settle_integrity_mismatch(session, obj, exc)
