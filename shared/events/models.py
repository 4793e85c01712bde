from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, JSONType, UTCDateTime, utcnow


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index(None, "merchant_id", "id"),
        Index(None, "merchant_id", "type", "id"),
        Index(None, "object_id"),
        # The sweeper's view: events whose fan-out has not run yet (normally a handful).
        Index("ix_events_not_fanned_out", "created_at",
              postgresql_where=text("fanned_out_at IS NULL"),
              sqlite_where=text("fanned_out_at IS NULL")),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set by webhook fan-out in the transaction that creates the delivery attempts.
    fanned_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
