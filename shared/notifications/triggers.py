"""What causes a notification: turning domain changes into ``service.enqueue`` calls.

``on_event`` is called where a payment or refund moves (``move_payment``, ``move_refund``),
right after its event is recorded. It returns at once for events that notify nobody, and it
can never make the change that caused the event fail: any error while queueing is logged and
the notification is dropped (inside a savepoint), because a receipt is worth less than the
payment it describes. It reads only what it is handed (the object, and for a refund its
payment), so notifications sit below the payments and refunds that call it.
"""
from __future__ import annotations

import logging
from typing import cast
from urllib.parse import urlsplit

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from shared.money import to_major_string
from shared.notifications import service
from shared.notifications.models import NotificationSettings

log = logging.getLogger(__name__)

_SETTINGS = cast(Table, NotificationSettings.__table__)
_RECEIPTS_ON = select(_SETTINGS.c.customer_email_receipts, _SETTINGS.c.customer_sms_receipts
                      ).where(_SETTINGS.c.merchant_id == bindparam("merchant_id"))
_RECEIPT_EVENTS = {"payment.completed": "payment.receipt", "refund.completed": "refund.receipt"}


def _amount(amount: int, currency: str) -> str:
    try:
        return to_major_string(amount, currency)
    except ValueError:
        return str(amount)


def on_event(session: Session, merchant_id: str, event_type: str, obj: dict,
             payment: dict | None = None, receipts_on: bool | None = None) -> None:
    """``obj`` is the event's object; for a refund, ``payment`` is its payment's object.
    ``receipts_on``: whether the merchant sends receipts, when the caller read it already."""
    kind = _RECEIPT_EVENTS.get(event_type)
    if kind is None:
        return
    if receipts_on is None:
        settings = session.execute(_RECEIPTS_ON, {"merchant_id": merchant_id}).first()
        receipts_on = settings is not None and bool(settings.customer_email_receipts or
                                                    settings.customer_sms_receipts)
    if not receipts_on:
        return  # receipts are off unless the merchant turned them on
    try:
        with session.begin_nested():
            context = _receipt_context(kind, obj, payment)
            if context is not None:
                service.enqueue(session, merchant_id, kind, context, object_id=obj["id"])
    except Exception:
        log.exception("notifications: could not queue %s for %s", kind, obj.get("id"))


def _receipt_context(kind: str, obj: dict, payment: dict | None) -> dict | None:
    if kind == "payment.receipt":
        payment = obj
    elif payment is None:
        return None
    customer = payment.get("customer") or {}
    if not (customer.get("email") or customer.get("phone")):
        return None
    description = payment.get("description")
    return {
        # Only the kind of method: never its token or VPA.
        "customer": {"email": customer.get("email"), "phone": customer.get("phone")},
        "amount": _amount(obj["amount"], obj["currency"]), "currency": obj["currency"],
        "payment_id": payment["id"], "refund_id": obj["id"] if kind == "refund.receipt"
        else None,
        "method": (payment.get("payment_method") or {}).get("type", "-"),
        "description_line": f"For: {description}\n" if description else "",
    }


def webhook_endpoint_disabled(session: Session, endpoint, reason: str) -> None:
    """Alert the merchant that the gateway disabled one of their endpoints."""
    try:
        with session.begin_nested():
            service.enqueue(session, endpoint.merchant_id, "webhook_endpoint.disabled", {
                "endpoint_id": endpoint.id, "host": urlsplit(endpoint.url).hostname or "-",
                "reason": reason}, object_id=endpoint.id, dedupe=False)
    except Exception:
        log.exception("notifications: could not queue the disabled alert for %s", endpoint.id)


def payout_finished(session: Session, merchant_id: str, payout_id: str, status: str,
                    amount: int, currency: str, reason: str | None = None) -> None:
    """For the ledger's payouts: ``status`` is ``paid`` or ``failed``. Call it in the
    transaction that moves the payout; the alert commits with it."""
    service.enqueue(session, merchant_id, f"payout.{status}", {
        "payout_id": payout_id, "amount": _amount(amount, currency), "currency": currency,
        "reason": reason}, object_id=payout_id)
