"""Events: one per state change, written in the same transaction as the change. Each event is
handed to webhook fan-out through the outbox, so delivery starts right after the commit."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from shared import outbox
from shared.db import utcnow
from shared.events.models import Event
from shared.ids import new_id
from shared.ownership import get_owned
from shared.pagination import Page, keyset_page

EVENT_TYPES = (
    "payment.created", "payment.processing", "payment.completed", "payment.failed",
    "payment.canceled", "payment.refunded", "refund.created", "refund.completed",
    "refund.failed", "order.paid", "ping",
)


def record_event(session: Session, merchant_id: str, event_type: str, obj: dict) -> Event:
    now = utcnow()
    event = Event(id=new_id("event"), merchant_id=merchant_id, type=event_type,
                  object_id=obj["id"], data={"object": obj}, created_at=now,
                  fan_out_pending_since=now)
    session.add(event)
    outbox.enqueue(session, "gateway.fan_out_event", [event.id], "webhooks")
    return event


_INSERT_EVENT = text("""
WITH e AS (
  INSERT INTO events (id, merchant_id, type, object_id, data, created_at, fan_out_pending_since)
  VALUES (:id, :merchant_id, :type, :object_id, CAST(:data AS jsonb), :now, :now)
  RETURNING id
)
INSERT INTO outbox (task, args, queue, created_at, publish_attempts)
SELECT 'gateway.fan_out_event', CAST(:args AS jsonb), 'webhooks', :now, 0 FROM e
RETURNING id, task, args, queue""")


def insert_event(session: Session, merchant_id: str, event_type: str, object_id: str,
                 object_json: str) -> str:
    """``record_event`` as one Core statement (PostgreSQL) for the hot paths: the event and
    its fan-out outbox row, with the object's JSON already serialized (built once)."""
    now = utcnow()
    event_id = new_id("event")
    rows = session.execute(_INSERT_EVENT, {
        "id": event_id, "merchant_id": merchant_id, "type": event_type,
        "object_id": object_id, "data": '{"object":' + object_json + "}", "now": now,
        "args": '["' + event_id + '"]'}).all()
    session.info.setdefault("outbox_rows", []).extend(tuple(r) for r in rows)
    return event_id


def get_event(session: Session, merchant_id: str, event_id: str) -> Event:
    return get_owned(session, Event, merchant_id, event_id, "event")


def list_events(session: Session, merchant_id: str, args: dict) -> Page:
    filters = []
    if args.get("type"):
        filters.append(Event.type == args["type"])
    return keyset_page(session, Event, merchant_id, filters, args["limit"],
                       args.get("starting_after"))
