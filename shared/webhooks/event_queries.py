"""Reading a merchant's events (``GET /events``). Events are written by
``shared.events.service.record_event``; this module only reads them."""
from __future__ import annotations

from sqlalchemy.orm import Session

from shared.errors import NotFound
from shared.events.models import Event
from shared.pagination import Page, keyset_page


def get_event(session: Session, merchant_id: str, event_id: str) -> Event:
    event = session.get(Event, event_id)
    if event is None or event.merchant_id != merchant_id:
        raise NotFound(f"No such event: {event_id!r}.", param="id")
    return event


def list_events(session: Session, merchant_id: str, args: dict) -> Page:
    filters = []
    if args.get("type"):
        filters.append(Event.type == args["type"])
    return keyset_page(session, Event, merchant_id, filters, args["limit"],
                       args.get("starting_after"))
