from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, BigIntPK, JSONType, UTCDateTime, utcnow
from shared.payments.states import PaymentStatus, ProviderEventStatus


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


class TransactionAttempt(Base):
    """Every provider call, with redacted request and response."""
    __tablename__ = "transaction_attempts"
    __table_args__ = (Index(None, "payment_id"), Index(None, "refund_id"))

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(String(40))
    payment_id: Mapped[str | None] = mapped_column(String(40))
    refund_id: Mapped[str | None] = mapped_column(String(40))
    provider: Mapped[str] = mapped_column(String(32))
    operation: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(32))
    error_code: Mapped[str | None] = mapped_column(String(64))
    request: Mapped[dict | None] = mapped_column(JSONType)
    response: Mapped[dict | None] = mapped_column(JSONType)
    duration_ms: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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


class SandboxCharge(Base):
    """The sandbox provider's own ledger: one row per charge or refund it made, keyed by the
    idempotency key it was called with, so tests can prove nothing happened twice."""
    __tablename__ = "sandbox_ledger"
    __table_args__ = (Index(None, "kind", "reference", unique=True),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))        # charge | refund
    reference: Mapped[str] = mapped_column(String(64))   # our payment or refund id
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    outcome: Mapped[str] = mapped_column(String(16))
    instrument: Mapped[str | None] = mapped_column(String(100))  # token or vpa it charged
    calls: Mapped[int] = mapped_column(default=1)        # how often it was asked
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
