"""Posting balanced journal entries.

A ``Posting`` collects the entries one transaction writes, checks that each balances (the same
rule the PostgreSQL constraint trigger enforces at commit), skips entries already posted
(unique per source and kind, so a job that runs twice posts once), then locks every account it
touches in id order and moves their running balances. One lock order everywhere (the payment or
payout row first, then accounts by id, then the daily totals) keeps concurrent postings free of
deadlocks. A payment's posting (``defer_balances``) locks no account: it adds balance deltas
(``shared.ledger.deltas``) and its daily totals go to a slot row of its own.
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

from sqlalchemy import TextClause, case, select, text, update
from sqlalchemy.orm import Session

from shared.db import execute_in, utcnow
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


# Daily-total rows per merchant and day that deferred postings spread over (slots 1-16).
TOTAL_SLOTS = 16


class Posting:
    """The entries one transaction posts. ``defer_balances`` (a payment's posting): on
    PostgreSQL the accounts are not locked or updated; their balance changes are inserted into
    ``ledger_balance_deltas`` (``shared.ledger.deltas``) and the daily totals go to a slot row
    of their own (``DailyTotal.slot``), so concurrent payments of one merchant never wait on
    each other. Such a posting may not touch ``available``: money leaves only through
    postings that lock the account they check (payouts, refunds), which therefore read an
    exact balance."""

    def __init__(self, session: Session, *, defer_balances: bool = False) -> None:
        self.session = session
        self.defer_balances = defer_balances
        self.entries: list[Entry] = []

    def add(self, entry: Entry) -> Posting:
        check_balanced(entry)
        if self.defer_balances and any(line.kind == chart.AVAILABLE for line in entry.lines):
            raise ValueError(f"{entry.kind} {entry.source_id}: a posting that defers balances "
                             "cannot move the available balance")
        self.entries.append(entry)
        return self

    def _totals_slot(self, source_id: str) -> int:
        """The daily-totals slot of this transaction's deferred postings: the slot of the
        first one's source, kept for the rest (a worker settles several payments in one
        transaction), so a transaction holds one daily-totals row, and two never wait on
        each other's rows in opposite orders."""
        return self.session.info.setdefault("ledger_totals_slot", _slot(source_id))

    def lock_accounts(self, keys: list[tuple[str, str, bool, str]]) -> dict[tuple, LedgerAccount]:
        """Lock (merchant, currency, livemode, kind) accounts in id order; returns them,
        creating the missing ones first. The usual case (one merchant, currency and mode,
        accounts already there) is a single SELECT ... FOR NO KEY UPDATE."""
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
            .with_for_update(key_share=True)  # FOR NO KEY UPDATE (shared.ledger.deltas)
            .execution_options(populate_existing=True)).all())

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
        and the commit only. Entries already posted (same source and kind) are skipped with all
        they carry. Entries of one book (merchant, currency, mode: every payment's and
        refund's posting) find their accounts by kind in the statement itself; the accounts of
        a book's first posting are created and the statement run again."""
        entries, self.entries = self.entries, []
        keys = sorted({(e.merchant_id, e.currency, e.livemode, line.kind)
                       for e in entries for line in e.lines if line.amount})
        books = _by_book(keys)
        ids: dict[tuple, int] | None = None
        if locked is not None and all(k in locked for k in keys):
            ids = {k: locked[k].id for k in keys}
        elif len(books) > 1:
            ids = self.account_ids(books)
        slot = self._totals_slot(entries[0].source_id) if self.defer_balances and entries else 0
        statement, params = self._posting_statement(entries, len(keys), ids, books,
                                                    self.defer_balances, slot)
        # On the session's psycopg connection (``execute_in``: no per-statement set-up).
        rows = execute_in(self.session, statement, params)
        if ids is None and rows[0][0] < len(keys):
            # The book's first posting: nothing was written (the statement checks that every
            # account is there); create the accounts and post by their ids.
            ids = self.account_ids(books)
            statement, params = self._posting_statement(entries, len(keys), ids, books,
                                                        self.defer_balances, slot)
            rows = execute_in(self.session, statement, params)
        written = {(source_id, kind) for _, source_id, kind in rows if source_id is not None}
        for account in (locked or {}).values():
            self.session.expire(account, ["balance"])
        return [e for e in entries if (e.source_id, e.kind) in written]

    @staticmethod
    def _posting_statement(entries: list[Entry], n_accounts: int, ids: dict[tuple, int] | None,
                           books: dict[tuple, list[str]], deferred: bool = False,
                           slot: int = 0) -> tuple[TextClause, dict]:
        """The posting's statement and parameters. With ``ids`` the accounts are locked by id;
        without, ``books`` is one book and its accounts are locked by kind. The entries,
        lines and totals travel as three JSON parameters, so the SQL has one text per shape
        (psycopg parses, caches and prepares it once; dozens of scalar parameters made it
        parse the SQL on every posting)."""
        params: dict = {"now": utcnow(), "n_accounts": n_accounts}
        if ids is None:
            ((merchant_id, currency, livemode), kinds), = books.items()
            params.update(book_m=merchant_id, book_c=currency, book_l=livemode, kinds=kinds)
        else:
            params["account_ids"] = sorted(set(ids.values()))
        entry_rows, line_rows, total_rows = [], [], []
        today = params["now"].date()
        for e in entries:
            entry_rows.append({"source_id": e.source_id, "kind": e.kind,
                               "merchant_id": e.merchant_id, "currency": e.currency,
                               "livemode": e.livemode})
            for line in e.lines:
                if not line.amount:
                    continue
                row = {"source_id": e.source_id, "kind": e.kind, "side": line.side,
                       "amount": line.amount}
                if ids is None:
                    row["account_kind"] = line.kind
                else:
                    row["account_id"] = ids[(e.merchant_id, e.currency, e.livemode, line.kind)]
                line_rows.append(row)
            if e.totals:
                total_rows.append({"source_id": e.source_id, "kind": e.kind,
                                   "day": (e.day or today).isoformat(),
                                   "slot": slot,
                                   **{c: e.totals.get(c, 0) for c in _TOTAL_COLUMNS}})
        params.update(entries=json.dumps(entry_rows), lines=json.dumps(line_rows),
                      totals=json.dumps(total_rows))
        return _posting_sql(ids is None, bool(total_rows), deferred), params

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
                                             currency=currency, day=day, slot=0,
                                             **_zeroes(values))
            stmt = stmt.on_conflict_do_update(
                index_elements=["merchant_id", "livemode", "currency", "day", "slot"],
                set_={c: getattr(DailyTotal, c) + getattr(stmt.excluded, c) for c in values})
            self.session.execute(stmt)


_TOTAL_COLUMNS = ("gross", "refunds", "fees", "payouts", "payment_count", "refund_count",
                  "payout_count")


def _zeroes(values: dict[str, int]) -> dict[str, int]:
    return {c: values.get(c, 0) for c in _TOTAL_COLUMNS}


def _slot(source_id: str) -> int:
    """The daily-totals slot (1-16) of a source: the same for it every time."""
    return 1 + zlib.crc32(source_id.encode()) % TOTAL_SLOTS


@lru_cache(maxsize=16)
def _posting_sql(by_kind: bool, with_totals: bool, deferred: bool = False) -> TextClause:
    """The posting statement of one shape: accounts locked by kind (one book) or by id, with
    or without daily totals. ``lk`` locks every account in id order before any is updated
    (``u`` reads it, and the daily totals wait for ``u``), the one lock order of every
    posting; nothing is written unless every account is there. ``deferred``: the accounts
    are read, not locked, and ``u`` inserts their balance deltas instead of updating them."""
    if by_kind:
        lock = """SELECT id, kind AS account_kind FROM ledger_accounts
                  WHERE merchant_id = CAST(:book_m AS varchar)
                    AND currency = CAST(:book_c AS varchar)
                    AND livemode = CAST(:book_l AS boolean)
                    AND kind = ANY(CAST(:kinds AS varchar[]))"""
        lines = """SELECT e.id, lk.id, lv.side, lv.amount FROM lv
                   JOIN e USING (source_id, kind) JOIN lk USING (account_kind)"""
    else:
        lock = """SELECT id FROM ledger_accounts
                  WHERE id = ANY(CAST(:account_ids AS bigint[]))"""
        lines = """SELECT e.id, lv.account_id, lv.side, lv.amount FROM lv
                   JOIN e USING (source_id, kind)"""
    totals = ""
    if with_totals:
        columns = ", ".join(_TOTAL_COLUMNS)
        typed = ", ".join(f"{c} bigint" for c in _TOTAL_COLUMNS)
        sums = ", ".join(f"sum(tv.{c})" for c in _TOTAL_COLUMNS)
        updates = ", ".join(f"{c} = ledger_daily_totals.{c} + EXCLUDED.{c}"
                            for c in _TOTAL_COLUMNS)
        totals = f""",
        tv AS (SELECT * FROM jsonb_to_recordset(CAST(:totals AS jsonb))
               AS x(source_id varchar, kind varchar, day date, slot smallint, {typed})),
        t AS (INSERT INTO ledger_daily_totals (merchant_id, livemode, currency, day, slot,
                                               {columns})
              SELECT v.merchant_id, v.livemode, v.currency, tv.day, tv.slot, {sums}
              FROM tv JOIN e USING (source_id, kind)
              JOIN v USING (source_id, kind)
              WHERE (SELECT count(*) FROM u) > 0
              GROUP BY v.merchant_id, v.livemode, v.currency, tv.day, tv.slot
              ON CONFLICT (merchant_id, livemode, currency, day, slot)
              DO UPDATE SET {updates})"""
    deltas = """SELECT account_id, sum(CASE WHEN side = 'credit' THEN amount
                                            ELSE -amount END) AS delta
                FROM l GROUP BY account_id"""
    if deferred:
        move = f"""INSERT INTO ledger_balance_deltas (account_id, delta) {deltas}
                   RETURNING account_id AS id"""
    else:
        move = f"""UPDATE ledger_accounts a SET balance = a.balance + d.delta
                   FROM ({deltas}) d
                   WHERE a.id = d.account_id AND a.id IN (SELECT id FROM lk)
                   RETURNING a.id"""
    return text(f"""
        WITH lk AS MATERIALIZED ({lock} ORDER BY id{"" if deferred else " FOR NO KEY UPDATE"}),
        v AS (SELECT * FROM jsonb_to_recordset(CAST(:entries AS jsonb))
              AS x(source_id varchar, kind varchar, merchant_id varchar, currency varchar,
                   livemode boolean)),
        e AS (INSERT INTO ledger_entries (merchant_id, currency, livemode, kind, source_id,
                                          created_at)
              SELECT merchant_id, currency, livemode, kind, source_id, :now FROM v
              WHERE (SELECT count(*) FROM lk) = :n_accounts
              ON CONFLICT (source_id, kind) DO NOTHING RETURNING id, source_id, kind),
        lv AS (SELECT * FROM jsonb_to_recordset(CAST(:lines AS jsonb))
               AS x(source_id varchar, kind varchar, account_id bigint, account_kind varchar,
                    side varchar, amount bigint)),
        l AS (INSERT INTO ledger_lines (entry_id, account_id, side, amount)
              {lines}
              RETURNING account_id, side, amount),
        u AS ({move}){totals}
        SELECT n.locked, e.source_id, e.kind
        FROM (SELECT count(*) AS locked FROM lk) n LEFT JOIN e ON true""")
