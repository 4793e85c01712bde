"""Events: one per state change, written in the same transaction as the change, together
with attempt 1 of its delivery to every subscribed endpoint (``webhook_logs`` rows and their
``deliver_webhook`` outbox rows), so delivery starts right after the commit and an event that
commits always has its deliveries."""
from __future__ import annotations

from typing import cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from shared.db import execute_in, utcnow
from shared.ids import new_id
from shared.ownership import get_owned
from shared.pagination import Page, keyset_page
from shared.webhooks import delivery
from shared.webhooks.models import Event

EVENT_TYPES = (
    "payment.created", "payment.processing", "payment.completed", "payment.failed",
    "payment.canceled", "payment.refunded", "refund.created", "refund.completed",
    "refund.failed", "order.paid", "ping", "payout.paid", "payout.failed",
    "payment.late_capture",  # money captured after the payment was final (review.py)
)


_INSERT_EVENT = cast(Table, Event.__table__).insert()


def record_event(session: Session, merchant_id: str, event_type: str, obj: dict) -> Event:
    """Write the event (one Core INSERT in the caller's transaction, not an ORM object to
    flush: measured ~8 % of a payments worker's CPU) and attempt 1 of its deliveries. The
    returned Event describes the row; it is not attached to the session."""
    values = dict(id=new_id("event"), merchant_id=merchant_id, type=event_type,
                  object_id=obj["id"], data={"object": obj}, created_at=utcnow(),
                  livemode=bool(obj.get("livemode")))
    execute_in(session, _INSERT_EVENT, values)
    event = Event(**values)
    delivery.start_deliveries(session, event)
    return event


def get_event(session: Session, merchant_id: str, event_id: str, *,
              livemode: bool | None = None) -> Event:
    return get_owned(session, Event, merchant_id, event_id, "event", livemode=livemode)


def list_events(session: Session, merchant_id: str, args: dict) -> Page:
    filters = []
    if args.get("type"):
        filters.append(Event.type == args["type"])
    if args.get("livemode") is not None:
        filters.append(Event.livemode == args["livemode"])
    return keyset_page(session, Event, merchant_id, filters, args["limit"],
                       args.get("starting_after"))
