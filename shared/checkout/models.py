from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, JSONType, UTCDateTime, utcnow


class CheckoutSession(Base):
    """What a customer is asked to pay on the hosted page, and the payment that pays it.

    The session's status is not stored: it follows from its current payment (a completed one
    makes it ``complete``) and from ``expires_at``, so there is one truth, the payment.
    ``payment_id`` is the customer's current attempt; it is replaced only by a
    compare-and-set that also requires the previous attempt to have failed (see
    ``shared.checkout.service.pay``), which is what keeps a session paid at most once.
    """
    __tablename__ = "checkout_sessions"
    __table_args__ = (
        Index(None, "merchant_id", "id"),
        Index(None, "merchant_id", "livemode", "id"),
        Index(None, "payment_id", unique=True),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    order_id: Mapped[str | None] = mapped_column(ForeignKey("orders.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    provider: Mapped[str] = mapped_column(String(32), default="sandbox")
    success_url: Mapped[str] = mapped_column(String(2048))
    cancel_url: Mapped[str] = mapped_column(String(2048))
    customer: Mapped[dict | None] = mapped_column(JSONType)
    description: Mapped[str | None] = mapped_column(String(1000))
    metadata_: Mapped[dict] = mapped_column("metadata", JSONType, default=dict)
    payment_id: Mapped[str | None] = mapped_column(ForeignKey("payments.id"))
    attempts: Mapped[int] = mapped_column(default=0)
    livemode: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
