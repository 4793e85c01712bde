"""The hooks the payment and refund state machines call, in the transaction of the status
change that causes the posting (the payment or refund row is already locked by the caller).
The posting itself runs as that transaction's last writes (``shared.db.at_commit``): it locks
the merchant's accounts, which every payment of the merchant shares, so they are held for the
posting and the commit only.

- A payment becomes completed: the provider holds ``amount`` (debit ``provider:<name>``), the
  merchant is owed it, pending (credit ``pending``); the fee moves from pending to ``fees``.
  Its balance transaction becomes available at ``available_on``.
- A refund becomes completed: it is taken from ``available`` and leaves the provider.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, text
from sqlalchemy.orm import Session

from shared.db import at_commit, at_commit_collect, execute_in, per_dialect, utcnow
from shared.ids import new_id
from shared.ledger import accounts as chart
from shared.ledger import fees, settings
from shared.ledger.journal import Entry, Line, Posting
from shared.ledger.models import BalanceTransaction
from shared.ledger.states import BalanceTransactionStatus


def _insert_txn_statement(insert):
    table = cast(Table, BalanceTransaction.__table__)  # Core: no ORM bulk-insert machinery
    return (insert(table).on_conflict_do_nothing(index_elements=["source_id", "type"])
            .returning(table.c.id))


# Built once per dialect; the values are bound at execution.
_INSERT_TXN = per_dialect(_insert_txn_statement)


# PostgreSQL: the rows travel as one JSON parameter, so one SQL text (prepared by psycopg)
# serves any number of them, run on the session's psycopg connection (``execute_in``).
_TXN_COLUMNS = ("id", "merchant_id", "livemode", "type", "amount", "fee", "net", "currency",
                "source_id", "status", "available_on", "created_at")
_INSERT_TXNS_PG = text(f"""
INSERT INTO balance_transactions ({", ".join(_TXN_COLUMNS)})
SELECT {", ".join(_TXN_COLUMNS)} FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(
  id varchar, merchant_id varchar, livemode boolean, type varchar, amount bigint, fee bigint,
  net bigint, currency varchar, source_id varchar, status varchar,
  available_on timestamptz, created_at timestamptz)
ON CONFLICT (source_id, type) DO NOTHING
RETURNING id""")


def _insert_txns(session: Session, rows: list[dict]) -> list[str]:
    """Insert balance transactions, skipping any whose (source, type) exists; the ids
    inserted. One statement for all of them."""
    dialect = session.get_bind().dialect.name
    if dialect != "postgresql":
        return list(session.execute(_INSERT_TXN[dialect], rows).scalars().all())
    payload = json.dumps([{column: row[column].isoformat() if isinstance(row[column], datetime)
                           else row[column] for column in _TXN_COLUMNS} for row in rows])
    return [row[0] for row in execute_in(session, _INSERT_TXNS_PG, {"rows": payload})]


def _insert_txn(session: Session, **values) -> bool:
    """Insert a balance transaction unless one exists for (source, type); True if inserted."""
    return bool(_insert_txns(session, [values]))


def payment_completed(session: Session, payment) -> None:
    """Post ``payment`` at commit. The payments a transaction completes (a worker settles
    several in one) are posted together: one posting statement per book and one INSERT of
    their balance transactions, instead of one of each per payment."""
    at_commit_collect(session, "ledger_payments", payment.id, payment,
                      lambda payments: _post_payments(session, payments))


def refund_completed(session: Session, refund, payment) -> None:
    at_commit(session, lambda: _post_refund(session, refund, payment))


def _payment_entries(session: Session, payment) -> tuple[list[Entry], dict]:
    """A completed payment's entries (payment, and fee when there is one) and the values of
    its balance transaction."""
    livemode = bool(getattr(payment, "livemode", False))
    schedule = fees.schedule_for(session, payment.merchant_id, payment.currency)
    fee = fees.compute_fee(payment.amount, schedule)
    common = dict(merchant_id=payment.merchant_id, currency=payment.currency,
                  livemode=livemode, source_id=payment.id)
    entries = [Entry(kind="payment", lines=[
        Line(chart.provider_kind(payment.provider), "debit", payment.amount),
        Line(chart.PENDING, "credit", payment.amount)],
        totals={"gross": payment.amount, "payment_count": 1}, **common)]
    if fee:
        entries.append(Entry(kind="fee", lines=[Line(chart.PENDING, "debit", fee),
                                                Line(chart.FEES, "credit", fee)],
                             totals={"fees": fee}, **common))
    txn = dict(merchant_id=payment.merchant_id, livemode=livemode, type="payment",
               amount=payment.amount, fee=fee, net=payment.amount - fee,
               currency=payment.currency, source_id=payment.id,
               status=BalanceTransactionStatus.PENDING)
    return entries, txn


def _post_payments(session: Session, payments: dict) -> None:
    """Post completed payments not posted before (nothing twice: entries are unique per
    source and kind), one posting per book, then their balance transactions."""
    now = utcnow()
    delay = settings.current().settlement_delay_s
    books: dict[tuple, Posting] = {}
    txns = {}
    for payment_id in sorted(payments):
        entries, txns[payment_id] = _payment_entries(session, payments[payment_id])
        # Every payment of a merchant moves the same accounts: the posting adds its balance
        # changes as deltas instead of locking them (it never touches ``available``).
        book = (entries[0].merchant_id, entries[0].currency, entries[0].livemode)
        posting = books.setdefault(book, Posting(session, defer_balances=True))
        for entry in entries:
            posting.add(entry)
    posted = {entry.source_id for _, posting in sorted(books.items())
              for entry in posting.flush()}
    rows = [dict(txns[payment_id], id=new_id("balance_transaction"), created_at=now,
                 available_on=now + timedelta(seconds=max(0, delay)))
            for payment_id in sorted(posted)]
    if not rows:
        return  # posted before: nothing twice
    inserted = _insert_txns(session, rows)
    if delay <= 0:
        from shared.ledger.balance import release_transaction
        for txn_id in inserted:
            release_transaction(session, txn_id)


def _post_refund(session: Session, refund, payment) -> None:
    livemode = bool(getattr(refund, "livemode", getattr(payment, "livemode", False)))
    posting = Posting(session)
    posting.add(Entry(
        merchant_id=refund.merchant_id, currency=refund.currency, livemode=livemode,
        kind="refund", source_id=refund.id,
        lines=[Line(chart.AVAILABLE, "debit", refund.amount),
               Line(chart.provider_kind(payment.provider), "credit", refund.amount)],
        totals={"refunds": refund.amount, "refund_count": 1}))
    if not posting.flush():
        return
    now = utcnow()
    _insert_txn(session, id=new_id("balance_transaction"), merchant_id=refund.merchant_id,
                livemode=livemode, type="refund", amount=-refund.amount, fee=0,
                net=-refund.amount, currency=refund.currency, source_id=refund.id,
                status=BalanceTransactionStatus.AVAILABLE, available_on=now, created_at=now)
