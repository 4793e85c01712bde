"""Which endpoints get an event: the merchant's enabled endpoints in the event's mode that
subscribe to its type (at most 16, see service.MAX_ENDPOINTS_PER_MERCHANT).

Attempt 1 of every delivery is written in the event's own transaction (no fan-out task), so
this list is read on every event. It is cached per process for ``TTL_S`` and dropped at once
when this process changes one of the merchant's endpoints. Another process's change is seen
within ``TTL_S``; an attempt for an endpoint disabled or deleted in that window ends ``dead``
without being sent (``delivery._claim``).
"""
from __future__ import annotations

import threading
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.webhooks.models import WebhookEndpoint

TTL_S = 1.5

_lock = threading.Lock()
# (merchant_id, livemode) -> (expires at (monotonic), [(endpoint_id, events filter), ...])
_cache: dict[tuple[str, bool], tuple[float, list[tuple[str, list]]]] = {}


def subscribes(event_filter: list, event_type: str) -> bool:
    return "*" in event_filter or event_type in event_filter


def invalidate(merchant_id: str | None = None) -> None:
    with _lock:
        if merchant_id is None:
            _cache.clear()
        else:
            for key in [k for k in _cache if k[0] == merchant_id]:
                del _cache[key]


def endpoints_for(session: Session, merchant_id: str, livemode: bool,
                  event_type: str) -> list[str]:
    """Ids of the endpoints that get an event of ``event_type`` (pings go only to the
    endpoint being tested, so never through here)."""
    if event_type == "ping":
        return []
    key = (merchant_id, bool(livemode))
    now = time.monotonic()
    entry = _cache.get(key)
    if entry is None or entry[0] <= now:
        rows = session.execute(select(WebhookEndpoint.id, WebhookEndpoint.events).where(
            WebhookEndpoint.merchant_id == merchant_id,
            WebhookEndpoint.livemode == bool(livemode),
            WebhookEndpoint.status == "enabled").order_by(WebhookEndpoint.id)).all()
        entry = (now + TTL_S, [(row[0], list(row[1] or [])) for row in rows])
        with _lock:
            _cache[key] = entry
    return [endpoint_id for endpoint_id, events in entry[1] if subscribes(events, event_type)]
