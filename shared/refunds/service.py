"""Refunds as the API sees them. The payment row is locked while the refund is reserved, so
concurrent requests cannot together refund more than the payment: the sum of refunds that are
not failed is kept in ``amount_refund_reserved`` and checked under that lock."""
from __future__ import annotations

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from shared import jobs, outbox
from shared.db import utcnow
from shared.errors import InvalidRequest
from shared.events.service import record_event
from shared.ids import new_id
from shared.ownership import get_owned
from shared.pagination import Page, keyset_page
from shared.payments.models import Payment
from shared.payments.service import get_payment
from shared.payments.states import REFUNDABLE, RefundStatus
from shared.refunds.models import Refund
from shared.representation import refund_object


def create_refund(session: Session, merchant_id: str, data: dict) -> Refund:
    payment = get_payment(session, merchant_id, data["payment_id"], lock=True,
                          param="payment_id", livemode=data.get("livemode"))
    if payment.status not in REFUNDABLE:
        raise InvalidRequest(f"A {payment.status} payment cannot be refunded.",
                             code="payment_not_refundable", param="payment_id")
    remaining = payment.amount - payment.amount_refund_reserved
    amount = data.get("amount", remaining)
    if amount <= 0 or amount > remaining or not reserve_refund_amount(session, payment,
                                                                      amount):
        raise InvalidRequest(
            f"Refund of {amount} exceeds what is left to refund ({remaining}).",
            code="refund_exceeds_payment", param="amount")
    now = utcnow()
    refund = Refund(id=new_id("refund"), merchant_id=merchant_id, payment_id=payment.id,
                    amount=amount, currency=payment.currency, status=RefundStatus.PENDING,
                    reason=data.get("reason"), metadata_=data.get("metadata") or {},
                    attempts=0, livemode=payment.livemode, created_at=now, updated_at=now)
    session.add(refund)
    record_event(session, merchant_id, "refund.created", refund_object(refund))
    outbox.enqueue(session, jobs.PROCESS_REFUND, [refund.id])
    return refund


def reserve_refund_amount(session: Session, payment: Payment, amount: int) -> bool:
    """Add ``amount`` to the payment's reservation in one conditional UPDATE, so the check and
    the increment are a single statement on every database (SQLite has no row locks)."""
    result: CursorResult = session.execute(  # type: ignore[assignment]
        update(Payment)
        .where(Payment.id == payment.id,
               Payment.amount_refund_reserved + amount <= Payment.amount)
        .values(amount_refund_reserved=Payment.amount_refund_reserved + amount,
                updated_at=utcnow())
        .execution_options(synchronize_session=False))
    session.expire(payment, ["amount_refund_reserved", "updated_at"])
    return result.rowcount == 1



def get_refund(session: Session, merchant_id: str, refund_id: str, *,
               livemode: bool | None = None) -> Refund:
    return get_owned(session, Refund, merchant_id, refund_id, "refund", livemode=livemode)


def list_refunds(session: Session, merchant_id: str, args: dict) -> Page:
    filters = []
    if args.get("payment_id"):
        filters.append(Refund.payment_id == args["payment_id"])
    if args.get("status"):
        filters.append(Refund.status == args["status"])
    if args.get("livemode") is not None:
        filters.append(Refund.livemode == args["livemode"])
    return keyset_page(session, Refund, merchant_id, filters, args["limit"],
                       args.get("starting_after"))
