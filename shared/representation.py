"""The API representation of each object, used by the HTTP responses and by event payloads
(an event's ``data.object`` is exactly what ``GET`` returns)."""
from __future__ import annotations

from datetime import datetime


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def order_object(o) -> dict:
    return {"id": o.id, "object": "order", "amount": o.amount, "currency": o.currency,
            "receipt": o.receipt, "status": o.status, "amount_paid": o.amount_paid,
            "attempts": o.attempts, "metadata": o.metadata_ or {},
            "livemode": bool(o.livemode), "created_at": iso(o.created_at)}


def payment_object(p) -> dict:
    return {"id": p.id, "object": "payment", "amount": p.amount, "currency": p.currency,
            "status": p.status, "order_id": p.order_id, "amount_refunded": p.amount_refunded,
            "provider": p.provider, "provider_payment_id": p.provider_payment_id,
            "payment_method": p.payment_method, "customer": p.customer,
            "description": p.description, "metadata": p.metadata_ or {},
            "failure_code": p.failure_code, "failure_message": p.failure_message,
            "attempts": p.attempts, "next_action": p.next_action,
            "livemode": bool(p.livemode),
            "created_at": iso(p.created_at), "updated_at": iso(p.updated_at)}


def refund_object(r) -> dict:
    return {"id": r.id, "object": "refund", "payment_id": r.payment_id, "amount": r.amount,
            "currency": r.currency, "status": r.status, "reason": r.reason,
            "provider_refund_id": r.provider_refund_id, "failure_code": r.failure_code,
            "failure_message": r.failure_message, "metadata": r.metadata_ or {},
            "livemode": bool(r.livemode),
            "created_at": iso(r.created_at), "updated_at": iso(r.updated_at)}


def event_object(e) -> dict:
    return {"id": e.id, "object": "event", "type": e.type, "created_at": iso(e.created_at),
            "livemode": bool(e.livemode), "data": e.data}
