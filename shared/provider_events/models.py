from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, BigIntPK, UTCDateTime, utcnow
from shared.payments.states import ProviderEventStatus


class ProviderEvent(Base):
    """A raw inbound provider webhook, stored before anything acts on it."""
    __tablename__ = "provider_events"
    __table_args__ = (
        Index(None, "provider", "provider_event_id", unique=True),
        Index(None, "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(128))
    payload: Mapped[str] = mapped_column(Text)
    # ProviderEventStatus (shared/payments/states.py)
    status: Mapped[str] = mapped_column(String(16), default=ProviderEventStatus.RECEIVED)
    result: Mapped[str | None] = mapped_column(String(500))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
