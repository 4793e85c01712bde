"""The merchant's balance (one read of the account rows), balance transactions, and the
periodic release of pending money whose ``available_on`` has come."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.ids import id_floor
from shared.ledger import accounts as chart
from shared.ledger.journal import Entry, Line, Posting
from shared.ledger.models import BalanceTransaction
from shared.ledger.states import BalanceTransactionStatus
from shared.pagination import Page, keyset_page

RELEASE_BATCH = 500


def get_balance(session: Session, merchant_id: str, livemode: bool = False) -> dict:
    available: dict[str, int] = {}
    pending: dict[str, int] = {}
    for kind, currency, amount in chart.balances(session, merchant_id, livemode,
                                                 (chart.AVAILABLE, chart.PENDING)):
        (available if kind == chart.AVAILABLE else pending)[currency] = amount
    currencies = sorted(set(available) | set(pending))
    return {"object": "balance", "livemode": livemode,
            "available": [{"currency": c, "amount": available.get(c, 0)} for c in currencies],
            "pending": [{"currency": c, "amount": pending.get(c, 0)} for c in currencies]}


def list_balance_transactions(session: Session, merchant_id: str, args: dict,
                              livemode: bool = False) -> Page:
    filters = [BalanceTransaction.livemode == livemode]
    if args.get("type"):
        filters.append(BalanceTransaction.type == args["type"])
    if args.get("payout_id"):
        filters.append(BalanceTransaction.payout_id == args["payout_id"])
    if args.get("created_gte") is not None:
        filters.append(BalanceTransaction.id >= id_floor(
            "balance_transaction", _ms(args["created_gte"])))
    if args.get("created_lt") is not None:
        filters.append(BalanceTransaction.id < id_floor(
            "balance_transaction", _ms(args["created_lt"])))
    return keyset_page(session, BalanceTransaction, merchant_id, filters, args["limit"],
                       args.get("starting_after"))


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def release_transaction(session: Session, txn_id: str) -> bool:
    """Move one pending payment transaction's net to available (caller holds its row or just
    wrote it). Posting is unique per (payment, release), so running twice moves it once."""
    txn = session.get(BalanceTransaction, txn_id, with_for_update=True)
    if txn is None or txn.status != BalanceTransactionStatus.PENDING:
        return False
    txn.status = BalanceTransactionStatus.AVAILABLE
    if txn.net > 0:
        Posting(session).add(Entry(
            merchant_id=txn.merchant_id, currency=txn.currency, livemode=txn.livemode,
            kind="release", source_id=txn.source_id,
            lines=[Line(chart.PENDING, "debit", txn.net),
                   Line(chart.AVAILABLE, "credit", txn.net)])).flush()
    return True


def release_available(db, now: datetime | None = None, batch: int = RELEASE_BATCH) -> int:
    """The periodic task: every pending transaction whose ``available_on`` has passed becomes
    available. Idempotent, and safe beside itself (SKIP LOCKED)."""
    now = now or utcnow()
    released = 0
    while True:
        with db.transaction() as session:
            rows = session.scalars(
                select(BalanceTransaction)
                .where(BalanceTransaction.status == BalanceTransactionStatus.PENDING,
                       BalanceTransaction.available_on <= now)
                .order_by(BalanceTransaction.available_on).limit(batch)
                .with_for_update(skip_locked=True)).all()
            if not rows:
                return released
            posting = Posting(session)
            for txn in rows:
                txn.status = BalanceTransactionStatus.AVAILABLE
                if txn.net > 0:
                    posting.add(Entry(
                        merchant_id=txn.merchant_id, currency=txn.currency,
                        livemode=txn.livemode, kind="release", source_id=txn.source_id,
                        lines=[Line(chart.PENDING, "debit", txn.net),
                               Line(chart.AVAILABLE, "credit", txn.net)]))
            posting.flush()
            released += len(rows)
        if len(rows) < batch:
            return released
