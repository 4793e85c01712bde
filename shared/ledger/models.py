"""The ledger's tables: double-entry accounts, journal entries and their lines, the balance
transactions merchants see, fee schedules, payouts, the sandbox bank and daily rollups.

Accounts keep a running ``balance`` (credits minus debits) so the balance and a payout check are
one row read; ``gateway ledger-check`` proves the running balances equal the sum of the lines.
Entries and lines are append-only (a PostgreSQL trigger refuses UPDATE and DELETE) and a
deferred constraint trigger refuses, at commit, an entry whose debits and credits differ.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, BigIntPK, JSONType, UTCDateTime, utcnow
from shared.ledger.states import PayoutStatus


class LedgerAccount(Base):
    """One account per (merchant, currency, livemode, kind); see ``shared.ledger.accounts``."""
    __tablename__ = "ledger_accounts"
    __table_args__ = (Index(None, "merchant_id", "currency", "livemode", "kind", unique=True),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    currency: Mapped[str] = mapped_column(String(3))
    livemode: Mapped[bool] = mapped_column(Boolean, default=False)
    kind: Mapped[str] = mapped_column(String(40))
    # Credits minus debits, in minor units: what the merchant is owed on a liability account.
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BalanceDelta(Base):
    """A change to an account's balance not yet folded into ``LedgerAccount.balance``. A
    payment's posting inserts these instead of updating its accounts (every payment of a
    merchant moves the same accounts, so updating them made concurrent settles queue on the
    row locks); ``shared.ledger.deltas.fold`` adds them to their accounts and deletes them in
    one transaction. An account's balance is its ``balance`` plus its deltas."""
    __tablename__ = "ledger_balance_deltas"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    delta: Mapped[int] = mapped_column(BigInteger)


class JournalEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (Index(None, "source_id", "kind", unique=True),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    currency: Mapped[str] = mapped_column(String(3))
    livemode: Mapped[bool] = mapped_column(Boolean, default=False)
    # payment | fee | release | refund | payout | payout_paid | payout_failed
    kind: Mapped[str] = mapped_column(String(24))
    source_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JournalLine(Base):
    __tablename__ = "ledger_lines"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("side IN ('debit', 'credit')", name="side_known"),
        Index(None, "entry_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    side: Mapped[str] = mapped_column(String(6))
    amount: Mapped[int] = mapped_column(BigInteger)


class BalanceTransaction(Base):
    """What a merchant sees of the ledger (SPEC ``GET /balance_transactions``)."""
    __tablename__ = "balance_transactions"
    __table_args__ = (
        Index(None, "merchant_id", "id"),
        Index(None, "merchant_id", "type", "id"),
        Index(None, "merchant_id", "payout_id", "id"),
        Index(None, "source_id", "type", unique=True),
        # The release task's view: pending transactions by when they become available.
        Index("ix_balance_transactions_pending_available_on", "available_on",
              postgresql_where=text("status = 'pending'"),
              sqlite_where=text("status = 'pending'")),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    livemode: Mapped[bool] = mapped_column(Boolean, default=False)
    type: Mapped[str] = mapped_column(String(16))  # payment | refund | payout | adjustment
    amount: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger, default=0)
    net: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    source_id: Mapped[str] = mapped_column(String(40))
    payout_id: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))  # pending | available
    available_on: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FeeSchedule(Base):
    __tablename__ = "fee_schedules"
    __table_args__ = (
        Index(None, "merchant_id", "currency", unique=True),
        CheckConstraint("fee_bps >= 0 AND fee_bps <= 10000", name="bps_range"),
        CheckConstraint("fee_fixed >= 0", name="fixed_non_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    currency: Mapped[str] = mapped_column(String(3))
    fee_bps: Mapped[int] = mapped_column(Integer)
    fee_fixed: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Payout(Base):
    __tablename__ = "payouts"
    __table_args__ = (
        Index(None, "merchant_id", "id"),
        Index(None, "status", "updated_at"),
        # One automatic payout per merchant, currency, mode and schedule slot (a day).
        Index(None, "merchant_id", "currency", "livemode", "schedule_key", unique=True),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    livemode: Mapped[bool] = mapped_column(Boolean, default=False)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default=PayoutStatus.PENDING)
    method: Mapped[str] = mapped_column(String(16), default="manual")  # manual | automatic
    destination: Mapped[str] = mapped_column(String(64), default="bank_account")
    schedule_key: Mapped[str | None] = mapped_column(String(32))
    failure_code: Mapped[str | None] = mapped_column(String(64))
    failure_message: Mapped[str | None] = mapped_column(String(500))
    metadata_: Mapped[dict] = mapped_column("metadata", JSONType, default=dict)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SandboxBankTransfer(Base):
    """The sandbox bank's own record: one row per payout it was asked to pay, so tests can
    prove no payout was paid twice."""
    __tablename__ = "sandbox_bank_transfers"
    __table_args__ = (Index(None, "payout_id", unique=True),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    payout_id: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    outcome: Mapped[str] = mapped_column(String(16))
    calls: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DailyTotal(Base):
    """Per merchant, mode, currency and UTC day: what the settlement report shows, kept up to
    date by every posting in the same transaction, so a year's report reads 365 rows. A day has
    up to 17 rows (``slot``): payments add to one of slots 1-16 (by payment id), so concurrent
    settles of one merchant rarely wait on the same row; every other posting uses slot 0. The
    report sums the slots."""
    __tablename__ = "ledger_daily_totals"
    __table_args__ = (
        Index(None, "merchant_id", "livemode", "currency", "day", "slot", unique=True),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    livemode: Mapped[bool] = mapped_column(Boolean, default=False)
    currency: Mapped[str] = mapped_column(String(3))
    day: Mapped[date] = mapped_column(Date)
    slot: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    gross: Mapped[int] = mapped_column(BigInteger, default=0)
    refunds: Mapped[int] = mapped_column(BigInteger, default=0)
    fees: Mapped[int] = mapped_column(BigInteger, default=0)
    payouts: Mapped[int] = mapped_column(BigInteger, default=0)
    payment_count: Mapped[int] = mapped_column(Integer, default=0)
    refund_count: Mapped[int] = mapped_column(Integer, default=0)
    payout_count: Mapped[int] = mapped_column(Integer, default=0)


class PaymentDailySummary(Base):
    """The summary report's rollup: payments created on a UTC day, by currency, provider and
    status. Rebuilt per (merchant, day) by ``shared.reporting.summary_rollup`` for days whose
    payments changed, so a year's summary reads at most a few thousand rows."""
    __tablename__ = "payment_daily_summaries"
    __table_args__ = (Index("ix_payment_daily_summaries_bucket", "merchant_id", "livemode",
                            "day", "currency", "provider", "status", unique=True),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(String(40))
    livemode: Mapped[bool] = mapped_column(Boolean, default=False)
    day: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    provider: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(24))
    count: Mapped[int] = mapped_column(Integer)
    volume: Mapped[int] = mapped_column(BigInteger)


class PaymentSummaryDay(Base):
    """Which (merchant, day) buckets of the rollup exist, and when they were rebuilt."""
    __tablename__ = "payment_summary_days"
    __table_args__ = (Index(None, "merchant_id", "day", unique=True),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(String(40))
    day: Mapped[date] = mapped_column(Date)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RollupState(Base):
    """How far each rollup has read changes (``payments.updated_at``)."""
    __tablename__ = "ledger_rollup_state"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    through: Mapped[datetime] = mapped_column(UTCDateTime)
