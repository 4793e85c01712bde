from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, JSONType, UTCDateTime, utcnow
from shared.payments.states import RefundStatus


class Refund(Base):
    __tablename__ = "refunds"
    __table_args__ = (
        Index(None, "merchant_id", "id"),
        Index(None, "merchant_id", "livemode", "id"),
        Index(None, "merchant_id", "payment_id", "id"),
        Index(None, "merchant_id", "status", "id"),
        Index(None, "status", "updated_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    # SPEC "Test and live mode": a test credential sees only test objects.
    livemode: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default=RefundStatus.PENDING)
    reason: Mapped[str | None] = mapped_column(String(500))
    provider_refund_id: Mapped[str | None] = mapped_column(String(255))
    failure_code: Mapped[str | None] = mapped_column(String(64))
    failure_message: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(default=0)
    metadata_: Mapped[dict] = mapped_column("metadata", JSONType, default=dict)
    # Set when an operator must look (amount_mismatch): see shared/payments/review.py.
    review_reason: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
