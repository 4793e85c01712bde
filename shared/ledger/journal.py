"""Posting balanced journal entries.

A ``Posting`` collects the entries one transaction writes, checks that each balances (the same
rule the PostgreSQL constraint trigger enforces at commit), skips entries already posted
(unique per source and kind, so a job that runs twice posts once), then locks every account it
touches in id order and moves their running balances. One lock order everywhere (the payment or
payout row first, then accounts by id, then the daily totals) keeps concurrent postings free of
deadlocks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.ledger import accounts as chart
from shared.ledger.models import DailyTotal, JournalEntry, JournalLine, LedgerAccount


class UnbalancedEntry(ValueError):
    """Debits and credits of an entry differ, or a line is not a positive amount."""


@dataclass
class Line:
    kind: str  # account kind, see shared.ledger.accounts
    side: str  # debit | credit
    amount: int


@dataclass
class Entry:
    merchant_id: str
    currency: str
    livemode: bool
    kind: str
    source_id: str
    lines: list[Line]
    # Columns of ledger_daily_totals this entry adds to (gross, fees, ...), on ``day``.
    totals: dict[str, int] = field(default_factory=dict)
    day: date | None = None


def check_balanced(entry: Entry) -> None:
    lines = [line for line in entry.lines if line.amount != 0]
    for line in lines:
        if line.side not in ("debit", "credit") or not isinstance(line.amount, int) \
                or isinstance(line.amount, bool) or line.amount < 0:
            raise UnbalancedEntry(f"{entry.kind} {entry.source_id}: bad line {line}")
    debits = sum(x.amount for x in lines if x.side == "debit")
    credits = sum(x.amount for x in lines if x.side == "credit")
    if debits != credits or len(lines) < 2:
        raise UnbalancedEntry(f"{entry.kind} {entry.source_id}: debits {debits} != credits "
                              f"{credits}")


class Posting:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.entries: list[Entry] = []

    def add(self, entry: Entry) -> Posting:
        check_balanced(entry)
        self.entries.append(entry)
        return self

    def lock_accounts(self, keys: list[tuple[str, str, bool, str]]) -> dict[tuple, LedgerAccount]:
        """Lock (merchant, currency, livemode, kind) accounts in id order; returns them,
        creating the missing ones first. The usual case (one merchant, currency and mode,
        accounts already there) is a single SELECT ... FOR UPDATE."""
        groups: dict[tuple, list[str]] = {}
        for merchant_id, currency, livemode, kind in keys:
            groups.setdefault((merchant_id, currency, livemode), []).append(kind)
        if len(groups) == 1:
            ((merchant_id, currency, livemode), kinds), = groups.items()
            rows = self._locked(
                (LedgerAccount.merchant_id == merchant_id) & (LedgerAccount.currency == currency)
                & (LedgerAccount.livemode == livemode) & LedgerAccount.kind.in_(kinds))
            found = {(r.merchant_id, r.currency, r.livemode, r.kind): r for r in rows}
            if len(found) == len(set(keys)):
                return found
        ids: dict[tuple, int] = {}
        for (merchant_id, currency, livemode), kinds in sorted(groups.items()):
            for kind, account_id in chart.ensure_accounts(
                    self.session, merchant_id, currency, livemode, kinds).items():
                ids[(merchant_id, currency, livemode, kind)] = account_id
        by_id = {row.id: row for row in self._locked(LedgerAccount.id.in_(ids.values()))}
        return {key: by_id[account_id] for key, account_id in ids.items()}

    def _locked(self, condition) -> list[LedgerAccount]:
        return list(self.session.scalars(
            select(LedgerAccount).where(condition).order_by(LedgerAccount.id)
            .with_for_update().execution_options(populate_existing=True)).all())

    def flush(self, locked: dict[tuple, LedgerAccount] | None = None) -> list[Entry]:
        """Write the entries not posted before; returns those written."""
        session = self.session
        if not self.entries:
            return []
        insert = chart.dialect_insert(session)
        now = utcnow()
        entries, self.entries = self.entries, []
        inserted = session.execute(
            insert(JournalEntry).values([
                {"merchant_id": e.merchant_id, "currency": e.currency, "livemode": e.livemode,
                 "kind": e.kind, "source_id": e.source_id, "created_at": now}
                for e in entries])
            .on_conflict_do_nothing(index_elements=["source_id", "kind"])
            .returning(JournalEntry.id, JournalEntry.source_id, JournalEntry.kind)).all()
        new_ids = {(source_id, kind): entry_id for entry_id, source_id, kind in inserted}
        written = [(e, new_ids[(e.source_id, e.kind)]) for e in entries
                   if (e.source_id, e.kind) in new_ids]
        if not written:
            return []
        keys = sorted({(e.merchant_id, e.currency, e.livemode, line.kind)
                       for e, _ in written for line in e.lines if line.amount})
        if locked is None or not all(k in locked for k in keys):
            locked = self.lock_accounts(keys)
        deltas: dict[int, int] = {}
        rows = []
        for entry, entry_id in written:
            for line in entry.lines:
                if not line.amount:
                    continue
                account = locked[(entry.merchant_id, entry.currency, entry.livemode, line.kind)]
                rows.append({"entry_id": entry_id, "account_id": account.id,
                             "side": line.side, "amount": line.amount})
                sign = 1 if line.side == "credit" else -1
                deltas[account.id] = deltas.get(account.id, 0) + sign * line.amount
        session.execute(insert(JournalLine), rows)
        moved = {account_id: d for account_id, d in deltas.items() if d}
        if moved:
            # One statement for every account; the rows are already locked in id order.
            session.execute(update(LedgerAccount).where(LedgerAccount.id.in_(moved))
                            .values(balance=LedgerAccount.balance + case(
                                moved, value=LedgerAccount.id, else_=0))
                            .execution_options(synchronize_session=False))
        for account in locked.values():
            if account.id in moved:
                session.expire(account, ["balance"])
        self._add_totals([e for e, _ in written], now)
        return [e for e, _ in written]

    def _add_totals(self, entries: list[Entry], now: datetime) -> None:
        sums: dict[tuple, dict[str, int]] = {}
        for entry in entries:
            if not entry.totals:
                continue
            key = (entry.merchant_id, entry.livemode, entry.currency, entry.day or now.date())
            bucket = sums.setdefault(key, {})
            for column, value in entry.totals.items():
                bucket[column] = bucket.get(column, 0) + value
        insert = chart.dialect_insert(self.session)
        for (merchant_id, livemode, currency, day), values in sorted(sums.items()):
            stmt = insert(DailyTotal).values(merchant_id=merchant_id, livemode=livemode,
                                             currency=currency, day=day, **_zeroes(values))
            stmt = stmt.on_conflict_do_update(
                index_elements=["merchant_id", "livemode", "currency", "day"],
                set_={c: getattr(DailyTotal, c) + getattr(stmt.excluded, c) for c in values})
            self.session.execute(stmt)


_TOTAL_COLUMNS = ("gross", "refunds", "fees", "payouts", "payment_count", "refund_count",
                  "payout_count")


def _zeroes(values: dict[str, int]) -> dict[str, int]:
    return {c: values.get(c, 0) for c in _TOTAL_COLUMNS}
