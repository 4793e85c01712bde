"""Payments an operator must look at: money moved in a way the status cannot say.

- ``late_capture``: the provider captured money for a payment that is already final (failed
  or canceled), e.g. the customer paid in a checkout after it had expired. The gateway does
  not refund on its own (the merchant may prefer to ship): the payment keeps its status,
  gets ``review_reason = "late_capture"`` and the merchant hears ``payment.late_capture``
  once. See docs/providers.md.
- ``amount_mismatch``: the provider reports another amount or currency than ours. Nothing is
  changed and the sweeper stops asking (it would get the same answer forever).

``review_reason`` is set once; a repeated signal (a second webhook about the same capture)
changes nothing.
"""
from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.events.service import record_event
from shared.payments.models import Payment
from shared.representation import payment_object

log = logging.getLogger(__name__)

LATE_CAPTURE = "late_capture"
AMOUNT_MISMATCH = "amount_mismatch"
LATE_CAPTURE_EVENT = "payment.late_capture"


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


def flag_amount_mismatch(session: Session, payment: Payment, detail: str) -> bool:
    """Flag a payment whose provider disagrees on the amount (locked by the caller)."""
    if payment.review_reason is not None:
        return False
    log.error("payment %s flagged for review: %s", payment.id, detail)
    payment.review_reason = AMOUNT_MISMATCH
    payment.updated_at = utcnow()
    return True
