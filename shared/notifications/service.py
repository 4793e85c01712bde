"""Queueing notifications and the merchant's notification settings.

``enqueue(session, merchant_id, kind, context, object_id=...)`` is the one entry point for
every domain (payments, refunds, webhooks, and payouts on the ledger branch). It renders the
template for each recipient and channel, writes one ``Notification`` row per message and an
outbox message, all in the caller's transaction: a notification exists exactly when the change
it reports committed. Sending happens later in a worker (``delivery``), so a slow or broken
mail server never holds up a payment.

Recipients: customer receipts go to ``context["customer"]`` (email and/or phone) when the
merchant turned receipts on; merchant alerts go to the merchant's active owners and admins
(SPEC "Notifications"), to ``merchants.email`` when it has no such users yet, and, if set, to
``alert_phone`` by SMS.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import jobs, outbox
from shared.db import utcnow
from shared.ids import ulid
from shared.merchants.models import Merchant
from shared.notifications.models import Notification, NotificationSettings
from shared.notifications.states import NotificationStatus
from shared.notifications.templates import CUSTOMER_KINDS, MERCHANT_KINDS, render
from shared.ownership import get_owned
from shared.pagination import Page, keyset_page
from shared.representation import iso
from shared.users.models import User
from shared.users.states import UserStatus

# If the first publish is lost, the dispatcher publishes again this long after queueing.
REPUBLISH_AFTER_S = 60


def settings_for(session: Session, merchant_id: str) -> NotificationSettings:
    settings = session.get(NotificationSettings, merchant_id)
    if settings is None:  # the defaults, unsaved
        settings = NotificationSettings(merchant_id=merchant_id, customer_email_receipts=False,
                                        customer_sms_receipts=False,
                                        merchant_email_alerts=True, alert_phone=None)
    return settings


def _alert_emails(session: Session, merchant_id: str) -> list[str]:
    emails = list(session.scalars(select(User.email).where(
        User.merchant_id == merchant_id, User.role.in_(("owner", "admin")),
        User.status == UserStatus.ACTIVE).order_by(User.id)))
    if not emails:
        merchant = session.get(Merchant, merchant_id)
        if merchant is not None and merchant.email:
            emails = [merchant.email]
    return emails


def _recipients(session: Session, merchant_id: str, kind: str,
                context: dict) -> list[tuple[str, str]]:
    settings = settings_for(session, merchant_id)
    found: list[tuple[str, str]] = []
    if kind in CUSTOMER_KINDS:
        customer = context.get("customer") or {}
        if settings.customer_email_receipts and customer.get("email"):
            found.append(("email", customer["email"]))
        if settings.customer_sms_receipts and customer.get("phone"):
            found.append(("sms", customer["phone"]))
    elif kind in MERCHANT_KINDS:
        if settings.merchant_email_alerts:
            found.extend(("email", email) for email in _alert_emails(session, merchant_id))
        if settings.alert_phone:
            found.append(("sms", settings.alert_phone))
    else:
        raise ValueError(f"unknown notification kind {kind!r}")
    return found


def enqueue(session: Session, merchant_id: str, kind: str, context: dict, *,
            object_id: str | None = None, dedupe: bool = True) -> list[Notification]:
    """Queue ``kind`` for every recipient the merchant's settings name. With an ``object_id``
    it is safe to call twice: a message already queued for that object is not queued again
    (``dedupe=False`` for things that can legitimately happen again to one object)."""
    now = utcnow()
    merchant = session.get(Merchant, merchant_id)
    values = {"merchant_name": merchant.name if merchant else "", "date":
              now.strftime("%Y-%m-%d %H:%M UTC"), **context}
    created = []
    for channel, recipient in _recipients(session, merchant_id, kind, context):
        dedupe_key = f"{kind}:{object_id or ''}:{channel}:{recipient}"[:500]
        if not (object_id and dedupe):
            dedupe_key = f"{dedupe_key[:460]}:{ulid()}"
        elif session.scalar(select(Notification.id).where(
                Notification.dedupe_key == dedupe_key)):
            continue
        subject, body = render(kind, channel, values)
        row = Notification(id=f"ntf_{ulid()}", merchant_id=merchant_id, kind=kind,
                           channel=channel, recipient=recipient, subject=subject, body=body,
                           object_id=object_id, dedupe_key=dedupe_key,
                           status=NotificationStatus.PENDING,
                           attempts=0, created_at=now,
                           next_attempt_at=now + timedelta(seconds=REPUBLISH_AFTER_S))
        session.add(row)
        outbox.enqueue(session, jobs.SEND_NOTIFICATION, [row.id])
        created.append(row)
    if created:
        session.flush()
    return created


# --- the merchant's API --------------------------------------------------------------------

SETTING_FIELDS = ("customer_email_receipts", "customer_sms_receipts", "merchant_email_alerts",
                  "alert_phone")


def settings_object(settings: NotificationSettings) -> dict:
    return {"object": "notification_settings", "merchant_id": settings.merchant_id,
            **{name: getattr(settings, name) for name in SETTING_FIELDS}}


def get_settings(session: Session, merchant_id: str) -> dict:
    return settings_object(settings_for(session, merchant_id))


def update_settings(session: Session, merchant_id: str, data: dict) -> dict:
    settings = session.get(NotificationSettings, merchant_id, with_for_update=True)
    if settings is None:
        settings = settings_for(session, merchant_id)
        session.add(settings)
    for name in SETTING_FIELDS:
        if name in data:
            setattr(settings, name, data[name])
    settings.updated_at = utcnow()
    session.flush()
    return settings_object(settings)


def notification_object(n: Notification) -> dict:
    return {"id": n.id, "object": "notification", "kind": n.kind, "channel": n.channel,
            "recipient": n.recipient, "subject": n.subject, "object_id": n.object_id,
            "status": n.status, "attempts": n.attempts, "last_error": n.last_error,
            "next_attempt_at": iso(n.next_attempt_at)
            if n.status == NotificationStatus.PENDING else None,
            "created_at": iso(n.created_at), "sent_at": iso(n.sent_at)}


def list_notifications(session: Session, merchant_id: str, args: dict) -> Page:
    filters = []
    if args.get("status"):
        filters.append(Notification.status == args["status"])
    if args.get("object_id"):
        filters.append(Notification.object_id == args["object_id"])
    return keyset_page(session, Notification, merchant_id, filters, args["limit"],
                       args.get("starting_after"))


def get_notification(session: Session, merchant_id: str, notification_id: str) -> Notification:
    return get_owned(session, Notification, merchant_id, notification_id, "notification")
