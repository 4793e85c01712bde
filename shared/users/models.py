"""Users of a merchant's account, their refresh-token chains and failed logins."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, BigIntPK, UTCDateTime, utcnow
from shared.users.states import UserStatus


class User(Base):
    """A person who logs in to one merchant's account. ``email`` is stored lower-cased, so
    the unique index makes it unique case-insensitively."""
    __tablename__ = "users"
    __table_args__ = (Index(None, "merchant_id", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))        # owner | admin | developer | viewer
    status: Mapped[str] = mapped_column(String(16), default=UserStatus.ACTIVE)  # active | disabled
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RefreshToken(Base):
    """One link of a session's refresh chain. Each refresh uses its token once and adds the
    next link; presenting a used link again means it was stolen, and the whole chain (every
    link sharing ``chain_id``) is revoked. Access tokens carry the chain id, so revoking the
    chain also stops them (within AUTH_CACHE_TTL_S)."""
    __tablename__ = "refresh_tokens"
    __table_args__ = (Index(None, "chain_id"), Index(None, "user_id"))

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    livemode: Mapped[bool] = mapped_column(Boolean, default=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginFailure(Base):
    """A failed login for an email (known or not): the per-email failure limit counts these."""
    __tablename__ = "login_failures"
    __table_args__ = (Index(None, "email", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
