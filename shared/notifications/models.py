from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, UTCDateTime, utcnow
from shared.notifications.states import NotificationStatus

CHANNELS = ("email", "sms")


class Notification(Base):
    """One message to one recipient over one channel, with its delivery state."""
    __tablename__ = "notifications"
    __table_args__ = (
        Index(None, "merchant_id", "id"),
        Index(None, "status", "next_attempt_at"),
        Index(None, "dedupe_key", unique=True),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    kind: Mapped[str] = mapped_column(String(48))
    channel: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    object_id: Mapped[str | None] = mapped_column(String(64))
    # kind:object:channel:recipient, so the same receipt is never queued twice.
    dedupe_key: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default=NotificationStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    provider_message_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NotificationSettings(Base):
    """Per-merchant choices. Without a row: no customer receipts, email alerts on."""
    __tablename__ = "notification_settings"

    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"), primary_key=True)
    customer_email_receipts: Mapped[bool] = mapped_column(Boolean, default=False)
    customer_sms_receipts: Mapped[bool] = mapped_column(Boolean, default=False)
    merchant_email_alerts: Mapped[bool] = mapped_column(Boolean, default=True)
    # Where merchant alerts go by SMS, if anywhere.
    alert_phone: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
