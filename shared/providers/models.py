"""The providers' own tables: every call we made to a provider, and the sandbox provider's
ledger of what it charged."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, BigIntPK, JSONType, UTCDateTime, utcnow


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
