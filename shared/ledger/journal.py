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
from functools import lru_cache

from sqlalchemy import TextClause, case, select, text, update
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


def _by_book(keys: list[tuple[str, str, bool, str]]) -> dict[tuple, list[str]]:
    """(merchant, currency, livemode, kind) keys grouped by (merchant, currency, livemode)."""
    groups: dict[tuple, list[str]] = {}
    for merchant_id, currency, livemode, kind in keys:
        groups.setdefault((merchant_id, currency, livemode), []).append(kind)
    return groups


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
        groups = _by_book(keys)
        if len(groups) == 1:
            ((merchant_id, currency, livemode), kinds), = groups.items()
            rows = self._locked(
                (LedgerAccount.merchant_id == merchant_id) & (LedgerAccount.currency == currency)
                & (LedgerAccount.livemode == livemode) & LedgerAccount.kind.in_(kinds))
            found = {(r.merchant_id, r.currency, r.livemode, r.kind): r for r in rows}
            if len(found) == len(set(keys)):
                return found
        ids = self.account_ids(groups)
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
        if session.get_bind().dialect.name == "postgresql":
            return self._flush_one_statement(locked)
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

    def account_ids(self, groups: dict[tuple, list[str]]) -> dict[tuple, int]:
        """The ids of the accounts of ``groups`` ((merchant, currency, livemode) -> kinds), by
        (merchant, currency, livemode, kind), creating the missing ones; nothing locked."""
        ids: dict[tuple, int] = {}
        for (merchant_id, currency, livemode), kinds in sorted(groups.items()):
            for kind, account_id in chart.ensure_accounts(
                    self.session, merchant_id, currency, livemode, kinds).items():
                ids[(merchant_id, currency, livemode, kind)] = account_id
        return ids

    def _flush_one_statement(self, locked: dict[tuple, LedgerAccount] | None) -> list[Entry]:
        """PostgreSQL: the accounts locked in id order, then entries, lines, balances and daily
        totals, all in one statement (data-modifying CTEs). A merchant's accounts are shared by
        all its payments, so the lock is taken by the statement that moves them and held for it
        and the commit only (the ids are looked up first, unlocked). Entries already posted
        (same source and kind) are skipped with all they carry."""
        entries, self.entries = self.entries, []
        keys = sorted({(e.merchant_id, e.currency, e.livemode, line.kind)
                       for e in entries for line in e.lines if line.amount})
        if locked is not None and all(k in locked for k in keys):
            ids = {k: locked[k].id for k in keys}
        else:
            ids = self.account_ids(_by_book(keys))
        params: dict = {"now": utcnow(), "account_ids": sorted(set(ids.values()))}
        entry_rows, line_rows, total_rows = [], [], []
        for i, e in enumerate(entries):
            params.update({f"e{i}_s": e.source_id, f"e{i}_k": e.kind, f"e{i}_m": e.merchant_id,
                           f"e{i}_c": e.currency, f"e{i}_l": e.livemode})
            entry_rows.append(f"(CAST(:e{i}_s AS varchar), CAST(:e{i}_k AS varchar), "
                              f"CAST(:e{i}_m AS varchar), CAST(:e{i}_c AS varchar), "
                              f"CAST(:e{i}_l AS boolean))")
            for j, line in enumerate(x for x in e.lines if x.amount):
                account_id = ids[(e.merchant_id, e.currency, e.livemode, line.kind)]
                params.update({f"l{i}_{j}_a": account_id, f"l{i}_{j}_d": line.side,
                               f"l{i}_{j}_n": line.amount})
                line_rows.append(f"(CAST(:e{i}_s AS varchar), CAST(:e{i}_k AS varchar), "
                                 f"CAST(:l{i}_{j}_a AS bigint), CAST(:l{i}_{j}_d AS varchar), "
                                 f"CAST(:l{i}_{j}_n AS bigint))")
            if e.totals:
                params[f"t{i}_day"] = e.day or params["now"].date()
                cells = ", ".join(f"CAST(:t{i}_{c} AS bigint)" for c in _TOTAL_COLUMNS)
                params.update({f"t{i}_{c}": e.totals.get(c, 0) for c in _TOTAL_COLUMNS})
                total_rows.append(f"(CAST(:e{i}_s AS varchar), CAST(:e{i}_k AS varchar), "
                                  f"CAST(:t{i}_day AS date), {cells})")
        totals_cte = ""
        if total_rows:
            columns = ", ".join(_TOTAL_COLUMNS)
            sums = ", ".join(f"sum(tv.{c})" for c in _TOTAL_COLUMNS)
            updates = ", ".join(f"{c} = ledger_daily_totals.{c} + EXCLUDED.{c}"
                                for c in _TOTAL_COLUMNS)
            totals_cte = f""",
            tv(source_id, kind, day, {columns}) AS (VALUES {", ".join(total_rows)}),
            t AS (INSERT INTO ledger_daily_totals (merchant_id, livemode, currency, day,
                                                   {columns})
                  SELECT v.merchant_id, v.livemode, v.currency, tv.day, {sums}
                  FROM tv JOIN e USING (source_id, kind)
                  JOIN v USING (source_id, kind)
                  WHERE (SELECT count(*) FROM u) > 0
                  GROUP BY v.merchant_id, v.livemode, v.currency, tv.day
                  ON CONFLICT (merchant_id, livemode, currency, day) DO UPDATE SET {updates})"""
        # lk locks every account in id order before any is updated (u reads it, and the
        # daily totals wait for u), the one lock order of every posting.
        statement = f"""
            WITH lk AS MATERIALIZED (SELECT id FROM ledger_accounts
                                     WHERE id = ANY(CAST(:account_ids AS bigint[]))
                                     ORDER BY id FOR UPDATE),
            v(source_id, kind, merchant_id, currency, livemode) AS (
                VALUES {", ".join(entry_rows)}),
            e AS (INSERT INTO ledger_entries (merchant_id, currency, livemode, kind, source_id,
                                              created_at)
                  SELECT merchant_id, currency, livemode, kind, source_id, :now FROM v
                  ON CONFLICT (source_id, kind) DO NOTHING RETURNING id, source_id, kind),
            lv(source_id, kind, account_id, side, amount) AS (VALUES {", ".join(line_rows)}),
            l AS (INSERT INTO ledger_lines (entry_id, account_id, side, amount)
                  SELECT e.id, lv.account_id, lv.side, lv.amount
                  FROM lv JOIN e USING (source_id, kind)
                  RETURNING account_id, side, amount),
            u AS (UPDATE ledger_accounts a SET balance = a.balance + d.delta
                  FROM (SELECT account_id, sum(CASE WHEN side = 'credit' THEN amount
                                                    ELSE -amount END) AS delta
                        FROM l GROUP BY account_id) d
                  WHERE a.id = d.account_id AND a.id IN (SELECT id FROM lk)
                  RETURNING a.id){totals_cte}
            SELECT source_id, kind FROM e"""
        written = set(self.session.execute(_text(statement), params).all())
        for account in (locked or {}).values():
            self.session.expire(account, ["balance"])
        return [e for e in entries if (e.source_id, e.kind) in written]

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


@lru_cache(maxsize=64)
def _text(statement: str) -> TextClause:
    """One TextClause per statement shape (a payment's posting is always the same shape):
    building one parses the SQL for its bind parameters each time."""
    return text(statement)
