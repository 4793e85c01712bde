"""Balance deltas: how a payment's posting moves its accounts without locking them.

A posting with ``defer_balances`` (``shared.ledger.journal.Posting``) inserts one
``ledger_balance_deltas`` row per account it moves instead of updating the account's running
``balance``. An account's balance is therefore ``balance`` plus its deltas, and every reader
adds them (``with_deltas``) in the same statement, so it sees one consistent snapshot: before a
fold commits, the deltas; after, the folded balance. ``fold`` (a periodic job) moves the
deltas into the balances and deletes them in one transaction, taking the account locks in id
order like every posting that locks accounts; it only ever deletes the deltas its own
statement sees, so a posting that commits meanwhile is folded next time.

Account locks are ``FOR NO KEY UPDATE`` (what PostgreSQL's own UPDATE of a balance takes):
they exclude each other as ``FOR UPDATE`` would, but not the ``KEY SHARE`` locks that the
foreign keys of a settle's ledger lines and deltas take, in line order, on the same accounts.
With ``FOR UPDATE`` a fold (or a refund's posting) and a settle could each hold one of two
accounts and wait for the other: a deadlock, seen in the suite.
"""
from __future__ import annotations

import typing

from sqlalchemy import BigInteger, ColumnElement, Table, cast, func, select, text
from sqlalchemy.orm import Session

from shared.ledger.models import BalanceDelta

_DELTAS = typing.cast(Table, BalanceDelta.__table__)

_LOCK_ACCOUNTS_WITH_DELTAS = text("""
    SELECT id FROM ledger_accounts
    WHERE id IN (SELECT DISTINCT account_id FROM ledger_balance_deltas)
    ORDER BY id FOR NO KEY UPDATE""")
_FOLD = text("""
    WITH d AS (DELETE FROM ledger_balance_deltas WHERE account_id = ANY(CAST(:ids AS bigint[]))
               RETURNING account_id, delta),
    s AS (SELECT account_id, sum(delta) AS delta, count(*) AS n FROM d GROUP BY account_id),
    u AS (UPDATE ledger_accounts a SET balance = a.balance + s.delta FROM s
          WHERE a.id = s.account_id RETURNING s.n)
    SELECT coalesce(sum(n), 0) FROM u""")


def with_deltas(account_id: typing.Any, balance: typing.Any) -> ColumnElement:
    """``balance`` plus the account's deltas not folded yet (a scalar subquery)."""
    pending = select(cast(func.coalesce(func.sum(_DELTAS.c.delta), 0), BigInteger)).where(
        _DELTAS.c.account_id == account_id).scalar_subquery()
    return balance + pending


def fold(session: Session) -> int:
    """Add every delta to its account and delete it; the number of deltas folded. Meant to
    run in its own short transaction (the accounts stay locked until its commit)."""
    if session.get_bind().dialect.name != "postgresql":
        return 0  # only PostgreSQL postings defer their balances
    ids = list(session.scalars(_LOCK_ACCOUNTS_WITH_DELTAS))
    if not ids:
        return 0
    return int(session.scalar(_FOLD, {"ids": ids}) or 0)
