"""The chart of accounts. Every account belongs to one merchant, currency and mode.

Liabilities (what the gateway owes the merchant) have a positive balance when owed:
``pending`` (settling), ``available`` (can be paid out), ``payouts_in_transit`` (sent to the
bank, not confirmed). ``fees`` is the gateway's revenue from that merchant; ``paid_out`` what
reached the merchant's bank. ``provider:<name>`` is the money held at each provider (an asset,
so its credit-minus-debit balance is negative). All balances together always sum to zero.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from shared.db import DIALECT_INSERTS
from shared.ledger.models import LedgerAccount

PENDING = "pending"
AVAILABLE = "available"
IN_TRANSIT = "payouts_in_transit"
FEES = "fees"
PAID_OUT = "paid_out"


def provider_kind(provider: str) -> str:
    return f"provider:{provider}"


def dialect_insert(session: Session) -> Callable[..., Any]:
    """The INSERT with ON CONFLICT of the session's database (PostgreSQL, or SQLite in dev)."""
    return DIALECT_INSERTS[session.get_bind().dialect.name]


_ACCOUNTS = cast(Table, LedgerAccount.__table__)
_ACCOUNT_IDS = select(_ACCOUNTS.c.kind, _ACCOUNTS.c.id).where(
    _ACCOUNTS.c.merchant_id == bindparam("merchant_id"),
    _ACCOUNTS.c.currency == bindparam("currency"),
    _ACCOUNTS.c.livemode == bindparam("livemode"),
    _ACCOUNTS.c.kind.in_(bindparam("kinds", expanding=True)))


def ensure_accounts(session: Session, merchant_id: str, currency: str, livemode: bool,
                    kinds: list[str]) -> dict[str, int]:
    """The ids of these accounts, creating the missing ones (concurrently safe: a unique index
    and ON CONFLICT DO NOTHING, in a fixed order).

    On PostgreSQL the missing accounts are created and committed on a connection of their
    own: an empty account is harmless if the caller's transaction rolls back, and an
    uncommitted new account row would make two transactions that create a book's accounts
    and then lock them wait on each other (deadlocks between concurrent first payouts of a
    currency). SQLite's one writer creates them in the caller's transaction."""
    wanted = sorted(set(kinds))
    params = {"merchant_id": merchant_id, "currency": currency, "livemode": livemode,
              "kinds": wanted}
    found = dict(session.execute(_ACCOUNT_IDS, params).all())
    missing = [k for k in wanted if k not in found]
    if missing:
        bind = session.get_bind()
        insert = dialect_insert(session)
        statements = [insert(LedgerAccount).values(
            merchant_id=merchant_id, currency=currency, livemode=livemode, kind=kind,
            balance=0).on_conflict_do_nothing() for kind in missing]
        if bind.dialect.name == "postgresql":
            with bind.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                for statement in statements:
                    conn.execute(statement)
        else:
            for statement in statements:
                session.execute(statement)
        found = dict(session.execute(_ACCOUNT_IDS, params).all())
    return found


def balances(session: Session, merchant_id: str, livemode: bool,
             kinds: tuple[str, ...]) -> list[tuple[str, str, int]]:
    """(kind, currency, balance) of this merchant's accounts of these kinds, with the
    balance changes not folded yet (``shared.ledger.deltas``)."""
    from shared.ledger.deltas import with_deltas
    rows = session.execute(
        select(LedgerAccount.kind, LedgerAccount.currency,
               with_deltas(LedgerAccount.id, LedgerAccount.balance))
        .where(LedgerAccount.merchant_id == merchant_id, LedgerAccount.livemode == livemode,
               LedgerAccount.kind.in_(kinds))
        .order_by(LedgerAccount.currency)).all()
    return list(rows)
