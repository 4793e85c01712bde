"""Payments as the API sees them: create (pending, no provider call), read, list, update."""
from __future__ import annotations

from sqlalchemy.orm import Session

from shared import jobs, outbox
from shared.config import Config
from shared.db import utcnow
from shared.errors import Conflict, InvalidRequest
from shared.events.service import record_event
from shared.ids import id_floor, new_id
from shared.merchants.livemode import choose_provider
from shared.orders import service as order_service
from shared.orders.states import OrderStatus
from shared.ownership import get_owned
from shared.pagination import Page, keyset_page
from shared.payments.models import Payment
from shared.payments.states import PaymentStatus, payment_can_move
from shared.providers.registry import require_available
from shared.representation import payment_object


def create_payment(session: Session, config: Config, merchant_id: str, data: dict) -> Payment:
    livemode = bool(data.get("livemode"))
    provider = choose_provider(config, data.get("provider"), livemode)
    require_available(provider, config)
    order_id = data.get("order_id")
    if order_id:
        order = order_service.get_order(session, merchant_id, order_id, param="order_id",
                                        livemode=livemode)
        if order.amount != data["amount"]:
            raise InvalidRequest("amount must equal the order's amount.",
                                 code="amount_mismatch", param="amount")
        if order.currency != data["currency"]:
            raise InvalidRequest("currency must equal the order's currency.",
                                 code="currency_mismatch", param="currency")
        if order.status == OrderStatus.PAID:
            raise InvalidRequest("This order is already paid.", code="order_already_paid",
                                 param="order_id")
        order_service.note_attempt(session, order_id)
    now = utcnow()
    payment = Payment(
        id=new_id("payment"), merchant_id=merchant_id, order_id=order_id,
        amount=data["amount"], currency=data["currency"], status=PaymentStatus.PENDING,
        amount_refunded=0, amount_refund_reserved=0, provider=provider,
        payment_method=data["payment_method"], customer=data.get("customer"),
        description=data.get("description"), metadata_=data.get("metadata") or {},
        attempts=0, livemode=livemode, created_at=now, updated_at=now)
    session.add(payment)
    record_event(session, merchant_id, "payment.created", payment_object(payment))
    outbox.enqueue(session, jobs.PROCESS_PAYMENT, [payment.id])
    return payment


def get_payment(session: Session, merchant_id: str, payment_id: str, *, lock: bool = False,
                param: str = "id", livemode: bool | None = None) -> Payment:
    return get_owned(session, Payment, merchant_id, payment_id, "payment", lock=lock,
                     param=param, livemode=livemode)


def list_payments(session: Session, merchant_id: str, args: dict) -> Page:
    filters = []
    if args.get("status"):
        filters.append(Payment.status == args["status"])
    if args.get("order_id"):
        filters.append(Payment.order_id == args["order_id"])
    if args.get("livemode") is not None:
        filters.append(Payment.livemode == args["livemode"])
    # ids are time-ordered, so created[gte]/[lt] become a primary-key range.
    if args.get("created_gte") is not None:
        filters.append(Payment.id >= id_floor("payment", _ms(args["created_gte"])))
    if args.get("created_lt") is not None:
        filters.append(Payment.id < id_floor("payment", _ms(args["created_lt"])))
    return keyset_page(session, Payment, merchant_id, filters, args["limit"],
                       args.get("starting_after"))


def _ms(value) -> int:
    return int(value.timestamp() * 1000)


def update_payment(session: Session, merchant_id: str, payment_id: str, data: dict) -> Payment:
    payment = get_payment(session, merchant_id, payment_id, lock=True,
                          livemode=data.get("livemode"))
    canceled_now = False
    if "status" in data:
        new = data["status"]
        if new != payment.status:
            if new != PaymentStatus.CANCELED or not payment_can_move(payment.status, new):
                raise Conflict(f"A {payment.status} payment cannot become {new}.",
                               code="payment_state_conflict", param="status")
            payment.status = PaymentStatus.CANCELED
            canceled_now = True
    if "metadata" in data:
        payment.metadata_ = data["metadata"]
    if "description" in data:
        payment.description = data["description"]
    payment.updated_at = utcnow()
    if canceled_now:  # a repeated cancel answers the same and writes no second event
        record_event(session, merchant_id, "payment.canceled", payment_object(payment))
    return payment
