from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, false, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, JSONType, UTCDateTime, utcnow


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index(None, "merchant_id", "id"),
        Index(None, "merchant_id", "livemode", "id"),
        Index(None, "merchant_id", "type", "id"),
        Index(None, "object_id"),
        # The sweeper's view: events whose fan-out has not run yet (normally a handful).
        Index("ix_events_fan_out_pending", "fan_out_pending_since",
              postgresql_where=text("fan_out_pending_since IS NOT NULL"),
              sqlite_where=text("fan_out_pending_since IS NOT NULL")),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    # SPEC "Test and live mode": a test credential sees only test objects.
    livemode: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when the event is written; cleared by webhook fan-out in the transaction that creates
    # the delivery attempts. The sweeper re-runs fan-outs pending too long, and moves this
    # forward each time so it asks once per interval, not on every sweep.
    fan_out_pending_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
