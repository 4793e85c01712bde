from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, BigIntPK, JSONType, UTCDateTime, utcnow

BLOCKLIST_TYPES = ("email", "vpa", "card_token", "ip")


class BlocklistEntry(Base):
    """A value a merchant never wants to take a payment from. Deleting one removes the row;
    the audit log keeps who added and removed it."""
    __tablename__ = "risk_blocklist"
    __table_args__ = (
        Index(None, "merchant_id", "id"),
        Index(None, "merchant_id", "type", "value", unique=True),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    type: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(320))   # normalised (see risk.signals)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VelocityHit(Base):
    """One evaluated payment seen with one signal (card token, email, VPA, IP). A sliding
    window is a count of these; one row per payment and kind, so a job that runs twice does
    not count twice. Values are stored as SHA-256 so this table holds no emails or IPs."""
    __tablename__ = "risk_velocity_hits"
    __table_args__ = (
        Index(None, "merchant_id", "kind", "value_hash", "created_at"),
        Index(None, "payment_id", "kind", unique=True),
        Index(None, "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16))
    value_hash: Mapped[str] = mapped_column(String(64))
    payment_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RiskSettings(Base):
    """Per-merchant risk settings: the largest payment accepted per currency (minor units)."""
    __tablename__ = "risk_settings"

    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"), primary_key=True)
    amount_limits: Mapped[dict] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
