"""Sending queued notifications: one attempt per task, retried with exponential backoff.

An attempt claims the row (``pending`` -> ``sending``, with a lease in ``next_attempt_at``) in
one short transaction, sends with no lock held, and records the answer in another, so two
workers never send the same message at once and a crashed attempt is retried once its lease
runs out. The dispatcher (beat, every few seconds) publishes rows whose retry is due and rows
whose first publish was lost.
"""
from __future__ import annotations

import logging
import random
from datetime import timedelta

from sqlalchemy import select

from shared import jobs, outbox
from shared.db import utcnow
from shared.notifications import channels
from shared.notifications.models import Notification
from shared.notifications.service import REPUBLISH_AFTER_S
from shared.notifications.states import NotificationStatus

log = logging.getLogger(__name__)

LEASE_MARGIN_S = 60
MAX_BACKOFF_S = 6 * 3600


def retry_delay(base_s: int, attempts: int) -> int:
    """base, 2x, 4x, ... capped at 6 hours, with up to 10 % jitter."""
    delay = min(MAX_BACKOFF_S, base_s * 2 ** max(0, attempts - 1))
    return int(delay + random.uniform(0, delay / 10))


def deliver(db, config, notification_id: str) -> str:
    """One attempt. Returns sent, retrying, failed, or skipped (done, or someone has it)."""
    now = utcnow()
    with db.transaction() as session:
        row = session.get(Notification, notification_id, with_for_update={"skip_locked": True})
        if row is None or row.status in (NotificationStatus.SENT, NotificationStatus.FAILED):
            return "skipped"
        if row.status == NotificationStatus.SENDING and row.next_attempt_at \
                and row.next_attempt_at > now:
            return "skipped"  # another attempt holds the lease
        row.status = NotificationStatus.SENDING
        row.attempts += 1
        row.next_attempt_at = now + timedelta(seconds=config.smtp_timeout_s + LEASE_MARGIN_S)
        attempt, channel, recipient = row.attempts, row.channel, row.recipient
        subject, body = row.subject, row.body

    result = channels.send(config, channel, recipient, subject, body)

    now = utcnow()
    with db.transaction() as session:
        row = session.get(Notification, notification_id, with_for_update=True)
        if row is None or row.status != NotificationStatus.SENDING or row.attempts != attempt:
            log.warning("notification %s: lease lost, result not recorded", notification_id)
            return "skipped"
        row.last_error = result.error[:500] if result.error else None
        if result.ok:
            row.status = NotificationStatus.SENT
            row.sent_at = now
            row.next_attempt_at = None
            row.provider_message_id = result.provider_message_id
            return NotificationStatus.SENT
        if not result.retryable or attempt >= config.notification_max_attempts:
            row.status = NotificationStatus.FAILED
            row.next_attempt_at = None
            log.warning("notification %s (%s) failed for good after %d attempt(s): %s",
                        row.id, row.kind, attempt, row.last_error)
            return NotificationStatus.FAILED
        row.status = NotificationStatus.PENDING
        row.next_attempt_at = now + timedelta(
            seconds=retry_delay(config.notification_retry_base_s, attempt))
        return "retrying"


def dispatch_due(db, batch: int = 200) -> int:
    """Publish every notification whose retry is due, or whose attempt or publish was lost."""
    now = utcnow()
    with db.transaction() as session:
        rows = session.scalars(
            select(Notification)
            .where(Notification.status.in_((NotificationStatus.PENDING,
                                            NotificationStatus.SENDING)),
                   Notification.next_attempt_at <= now)
            .order_by(Notification.next_attempt_at).limit(batch)
            .with_for_update(skip_locked=True)).all()
        for row in rows:
            # A "sending" row past its lease lost its worker: the attempt starts over.
            row.status = NotificationStatus.PENDING
            row.next_attempt_at = now + timedelta(seconds=REPUBLISH_AFTER_S)
            outbox.enqueue(session, jobs.SEND_NOTIFICATION, [row.id])
        return len(rows)
