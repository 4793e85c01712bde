from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.events.service import record_event
from shared.ids import new_id
from shared.orders.models import Order
from shared.orders.states import OrderStatus
from shared.ownership import get_owned
from shared.pagination import Page, keyset_page
from shared.representation import order_object


def create_order(session: Session, merchant_id: str, data: dict) -> Order:
    now = utcnow()
    order = Order(id=new_id("order"), merchant_id=merchant_id, amount=data["amount"],
                  currency=data["currency"], receipt=data.get("receipt"),
                  status=OrderStatus.CREATED,
                  amount_paid=0, attempts=0,
                  metadata_=data.get("metadata") or data.get("notes") or {},
                  livemode=bool(data.get("livemode")), created_at=now, updated_at=now)
    session.add(order)
    return order


def get_order(session: Session, merchant_id: str, order_id: str, *, lock: bool = False,
              param: str = "id", livemode: bool | None = None) -> Order:
    return get_owned(session, Order, merchant_id, order_id, "order", lock=lock, param=param,
                     livemode=livemode)


def list_orders(session: Session, merchant_id: str, args: dict) -> Page:
    filters = []
    if args.get("status"):
        filters.append(Order.status == args["status"])
    if args.get("livemode") is not None:
        filters.append(Order.livemode == args["livemode"])
    return keyset_page(session, Order, merchant_id, filters, args["limit"],
                       args.get("starting_after"))


def note_attempt(session: Session, order_id: str) -> None:
    session.execute(update(Order).where(Order.id == order_id)
                    .values(attempts=Order.attempts + 1, updated_at=utcnow()))
    session.execute(update(Order).where(Order.id == order_id, Order.status == OrderStatus.CREATED)
                    .values(status=OrderStatus.ATTEMPTED))


def mark_paid(session: Session, order_id: str, amount: int) -> None:
    """A payment for this order completed: the order is paid (once), with an event."""
    order = session.get(Order, order_id, with_for_update=True)
    if order is None or order.status == OrderStatus.PAID:
        return
    order.amount_paid = order.amount_paid + amount
    order.status = OrderStatus.PAID
    order.updated_at = utcnow()
    record_event(session, order.merchant_id, "order.paid", order_object(order))
