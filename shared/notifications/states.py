"""Notification statuses (plain strings, as stored and as served)."""
from __future__ import annotations

from typing import Final


class NotificationStatus:
    # Waiting for its (next) attempt.
    PENDING: Final = "pending"
    # An attempt holds it until next_attempt_at; past that it lost its worker and starts over.
    SENDING: Final = "sending"
    SENT: Final = "sent"
    # Gave up: attempts exhausted or a permanent refusal such as a bad number.
    FAILED: Final = "failed"


NOTIFICATION_STATUSES = (NotificationStatus.PENDING, NotificationStatus.SENDING,
                         NotificationStatus.SENT, NotificationStatus.FAILED)
