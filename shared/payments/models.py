from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, JSONType, UTCDateTime, utcnow
from shared.payments.states import PaymentStatus


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        Index(None, "merchant_id", "id"),
        Index(None, "merchant_id", "livemode", "id"),
        Index(None, "merchant_id", "status", "id"),
        Index(None, "merchant_id", "order_id", "id"),
        Index(None, "status", "updated_at"),
        Index(None, "provider", "provider_payment_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    # SPEC "Test and live mode": a test credential sees only test objects.
    livemode: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    order_id: Mapped[str | None] = mapped_column(ForeignKey("orders.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(24), default=PaymentStatus.PENDING)
    amount_refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    # Sum of refunds that are not failed: the bound that keeps refunds <= amount.
    amount_refund_reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    provider: Mapped[str] = mapped_column(String(32), default="sandbox")
    provider_payment_id: Mapped[str | None] = mapped_column(String(255))
    payment_method: Mapped[dict] = mapped_column(JSONType, default=dict)
    customer: Mapped[dict | None] = mapped_column(JSONType)
    description: Mapped[str | None] = mapped_column(String(1000))
    metadata_: Mapped[dict] = mapped_column("metadata", JSONType, default=dict)
    failure_code: Mapped[str | None] = mapped_column(String(64))
    failure_message: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(default=0)
    next_action: Mapped[dict | None] = mapped_column(JSONType)
    risk: Mapped[dict | None] = mapped_column(JSONType)  # shared.risk: {decision, rules}
    # Set when money moved in a way the status cannot say (a capture after the payment was
    # final, an amount the provider disagrees on): an operator must look. See
    # shared/payments/review.py.
    review_reason: Mapped[str | None] = mapped_column(String(64))
    # When the customer's return from a provider page last asked for a status poll.
    return_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
