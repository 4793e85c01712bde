"""The customer's return from a provider's page (PhonePe, Stripe 3-D Secure, Cashfree):
``GET /checkout/return/{id}``, with no credentials because the browser has none.

Anyone can call it for any payment id, so it is cheap and says little:
- It asks a worker to poll the provider at most once per payment per
  ``CHECKOUT_RETURN_POLL_S`` (a conditional update of ``return_polled_at``, so concurrent
  hits race for one poll), and only when the provider already holds the payment
  (``provider_payment_id`` is set): the job then only fetches the status, it never creates.
- It answers the customer-facing status only: ``pending``, ``succeeded`` or ``failed``;
  no amount, merchant, failure code or provider detail. ``updated_at`` is left alone.
"""
from __future__ import annotations

from datetime import timedelta
from typing import cast

from sqlalchemy import CursorResult, or_, update
from sqlalchemy.orm import Session

from shared import jobs, outbox
from shared.db import utcnow
from shared.errors import NotFound
from shared.payments.models import Payment
from shared.payments.states import PaymentStatus

_CUSTOMER_STATUS = {PaymentStatus.PENDING: "pending", PaymentStatus.PROCESSING: "pending",
                    PaymentStatus.COMPLETED: "succeeded",
                    PaymentStatus.PARTIALLY_REFUNDED: "succeeded",
                    PaymentStatus.REFUNDED: "succeeded",
                    PaymentStatus.FAILED: "failed", PaymentStatus.CANCELED: "failed"}


def customer_returned(session: Session, payment_id: str, poll_interval_s: int) -> str:
    """The customer-facing status; enqueues one status poll per interval while processing."""
    payment = session.get(Payment, payment_id)
    if payment is None:
        raise NotFound(f"No such payment: {payment_id!r}.", param="payment_id")
    if payment.status == PaymentStatus.PROCESSING and payment.provider_payment_id is not None:
        now = utcnow()
        claimed = cast(CursorResult, session.execute(
            update(Payment)
            .where(Payment.id == payment_id, Payment.status == PaymentStatus.PROCESSING,
                   or_(Payment.return_polled_at.is_(None),
                       Payment.return_polled_at < now - timedelta(seconds=poll_interval_s)))
            # updated_at is the sweeper's clock and part of the merchant's view: unchanged.
            .values(return_polled_at=now, updated_at=Payment.updated_at)
            .execution_options(synchronize_session=False)))
        if claimed.rowcount:
            outbox.enqueue(session, jobs.PROCESS_PAYMENT, [payment_id])
    return _CUSTOMER_STATUS.get(payment.status, "pending")
