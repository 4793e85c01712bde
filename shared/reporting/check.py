"""``gateway ledger-check``: the SPEC invariant, proved from the tables.

1. Every journal entry balances (debits = credits, at least two lines, every line on an
   account of the entry's merchant, currency and mode).
2. Every account's running balance (with its deltas not folded yet) equals the sum of its
   lines.
3. For every merchant, currency and mode: available + pending (+ payouts still in transit) =
   completed payments - completed refunds - fees - paid payouts, where payments, refunds and
   payouts are read from their own tables, not from the ledger.
4. Each completed payment, completed refund and payout has its entry, and nothing else does.
Returns the list of problems found (empty when the ledger is sound).
"""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from shared.payments.models import Payment
from shared.refunds.models import Refund

COMPLETED_PAYMENT = "('completed', 'partially_refunded', 'refunded')"
# The accounts with their balance deltas not folded yet added (shared.ledger.deltas).
_ACCOUNTS = """(SELECT acc.id, acc.merchant_id, acc.currency, acc.livemode, acc.kind,
                       acc.balance + CAST(coalesce(d.total, 0) AS bigint) AS balance
                FROM ledger_accounts acc
                LEFT JOIN (SELECT account_id, sum(delta) AS total FROM ledger_balance_deltas
                           GROUP BY account_id) d ON d.account_id = acc.id)"""


def _mode(model) -> str:
    # Payments and refunds gain ``livemode`` on the accounts branch; until then all are test.
    return "livemode" if "livemode" in model.__table__.columns else "false"


def problems(session: Session, limit: int = 50) -> list[str]:
    found: list[str] = []
    q = lambda sql, **kw: session.execute(text(sql), kw).all()  # noqa: E731
    for entry_id, kind, source, d, c, n in q(
            """SELECT e.id, e.kind, e.source_id,
                      coalesce(sum(l.amount) FILTER (WHERE l.side = 'debit'), 0),
                      coalesce(sum(l.amount) FILTER (WHERE l.side = 'credit'), 0),
                      count(l.id)
               FROM ledger_entries e LEFT JOIN ledger_lines l ON l.entry_id = e.id
               GROUP BY e.id, e.kind, e.source_id
               HAVING coalesce(sum(l.amount) FILTER (WHERE l.side = 'debit'), 0)
                   <> coalesce(sum(l.amount) FILTER (WHERE l.side = 'credit'), 0)
                   OR count(l.id) < 2 LIMIT :n""", n=limit):
        found.append(f"entry {entry_id} ({kind} {source}) does not balance: debits {d}, "
                     f"credits {c}, {n} lines")
    for line_id, entry_id in q(
            """SELECT l.id, e.id FROM ledger_lines l JOIN ledger_entries e ON e.id = l.entry_id
               JOIN ledger_accounts a ON a.id = l.account_id
               WHERE a.currency <> e.currency OR a.merchant_id <> e.merchant_id
                  OR a.livemode <> e.livemode LIMIT :n""", n=limit):
        found.append(f"line {line_id} of entry {entry_id} is on another merchant's, "
                     "currency's or mode's account")
    for account_id, kind, balance, total in q(
            f"""SELECT a.id, a.kind, a.balance, coalesce(s.total, 0) FROM {_ACCOUNTS} a
               LEFT JOIN (SELECT account_id, sum(CASE WHEN side = 'credit' THEN amount
                                                      ELSE -amount END) AS total
                          FROM ledger_lines GROUP BY account_id) s ON s.account_id = a.id
               WHERE a.balance <> coalesce(s.total, 0) LIMIT :n""", n=limit):
        found.append(f"account {account_id} ({kind}) balance {balance} but its lines sum to "
                     f"{total}")
    pay_mode, ref_mode = _mode(Payment), _mode(Refund)
    rows = q(f"""
        WITH keys AS (
            SELECT merchant_id, currency, livemode FROM ledger_accounts
            UNION SELECT merchant_id, currency, {pay_mode} FROM payments
                  WHERE status IN {COMPLETED_PAYMENT}
            UNION SELECT merchant_id, currency, livemode FROM payouts),
        acc AS (SELECT merchant_id, currency, livemode,
                   sum(balance) FILTER (WHERE kind IN ('available', 'pending',
                                                       'payouts_in_transit')) AS held,
                   sum(balance) FILTER (WHERE kind = 'fees') AS fees
                FROM {_ACCOUNTS} a GROUP BY 1, 2, 3),
        pay AS (SELECT merchant_id, currency, {pay_mode} AS livemode, sum(amount) AS total
                FROM payments WHERE status IN {COMPLETED_PAYMENT} GROUP BY 1, 2, 3),
        ref AS (SELECT merchant_id, currency, {ref_mode} AS livemode, sum(amount) AS total
                FROM refunds WHERE status = 'completed' GROUP BY 1, 2, 3),
        po AS (SELECT merchant_id, currency, livemode, sum(amount) AS total
               FROM payouts WHERE status = 'paid' GROUP BY 1, 2, 3),
        txn AS (SELECT merchant_id, currency, livemode, sum(fee) AS total
                FROM balance_transactions WHERE type = 'payment' GROUP BY 1, 2, 3)
        SELECT k.merchant_id, k.currency, k.livemode, coalesce(acc.held, 0),
               coalesce(pay.total, 0), coalesce(ref.total, 0), coalesce(acc.fees, 0),
               coalesce(po.total, 0), coalesce(txn.total, 0)
        FROM keys k
        LEFT JOIN acc USING (merchant_id, currency, livemode)
        LEFT JOIN pay USING (merchant_id, currency, livemode)
        LEFT JOIN ref USING (merchant_id, currency, livemode)
        LEFT JOIN po USING (merchant_id, currency, livemode)
        LEFT JOIN txn USING (merchant_id, currency, livemode)""")
    for merchant_id, currency, livemode, held, paid, refunded, fees, paid_out, txn_fees in rows:
        expected = paid - refunded - fees - paid_out
        if held != expected:
            found.append(
                f"{merchant_id} {currency} livemode={livemode}: available + pending + in "
                f"transit = {held}, but payments {paid} - refunds {refunded} - fees {fees} - "
                f"paid payouts {paid_out} = {expected}")
        if fees != txn_fees:
            found.append(f"{merchant_id} {currency}: fees account {fees} but balance "
                         f"transactions charged {txn_fees}")
    for source, kind in q(f"""
            SELECT p.id, 'payment' FROM payments p WHERE p.status IN {COMPLETED_PAYMENT}
              AND NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.source_id = p.id
                              AND e.kind = 'payment')
            UNION ALL
            SELECT r.id, 'refund' FROM refunds r WHERE r.status = 'completed'
              AND NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.source_id = r.id
                              AND e.kind = 'refund')
            UNION ALL
            SELECT e.source_id, e.kind FROM ledger_entries e WHERE e.kind = 'payment'
              AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.id = e.source_id
                              AND p.status IN {COMPLETED_PAYMENT})
            UNION ALL
            SELECT e.source_id, e.kind FROM ledger_entries e WHERE e.kind = 'refund'
              AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.id = e.source_id
                              AND r.status = 'completed')
            UNION ALL
            SELECT po.id, 'payout_paid' FROM payouts po WHERE po.status = 'paid'
              AND NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.source_id = po.id
                              AND e.kind = 'payout_paid')
            LIMIT :n""", n=limit):
        found.append(f"{kind} {source}: its ledger entry and its status disagree")
    return found[:limit]


def check(db) -> list[str]:
    with db.transaction() as session:
        return problems(session)
