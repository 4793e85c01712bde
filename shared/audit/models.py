from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, JSONType, UTCDateTime, utcnow


class AuditLog(Base):
    """Who changed what (SPEC "Audit log"): append-only, one row per change, no secrets.
    Ids are time-ordered (``aud_`` + ULID), so newest-first pages are keyset ranges."""
    __tablename__ = "audit_logs"
    __table_args__ = (
        Index(None, "merchant_id", "id"),
        Index(None, "merchant_id", "action", "id"),
        Index(None, "merchant_id", "actor_id", "id"),
        Index(None, "merchant_id", "object_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    merchant_id: Mapped[str | None] = mapped_column(String(40))
    actor_type: Mapped[str] = mapped_column(String(16))  # user | api_key | operator | system
    actor_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    details: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
