"""Settlement and summary reports.

Settlement reads the daily rollup (``ledger_daily_totals``) that every posting keeps up to date
in its own transaction, so a year is at most 366 rows per currency whatever the volume, and the
report matches the ledger to the minor unit. Summary reads the payments' daily rollup
(``summary_rollup``) for past days and counts the rest (today) live.
"""
from __future__ import annotations

import csv
import io
from datetime import date

from sqlalchemy import BigInteger, cast, func, select
from sqlalchemy.orm import Session

from shared.ledger.models import DailyTotal, PaymentDailySummary
from shared.payments.models import Payment
from shared.payments.states import CAPTURED, PaymentStatus
from shared.reporting import summary_rollup

SETTLEMENT_COLUMNS = ("date", "currency", "gross", "refunds", "fees", "net", "payouts",
                      "payment_count", "refund_count", "payout_count")
SUCCEEDED = CAPTURED


def settlement(session: Session, merchant_id: str, start: date, end: date,
               livemode: bool = False) -> list[dict]:
    """Per UTC day (``start`` to ``end`` inclusive) and currency."""
    t = DailyTotal
    sums = [cast(func.sum(c), BigInteger).label(c.key) for c in (
        t.gross, t.refunds, t.fees, t.payouts, t.payment_count, t.refund_count, t.payout_count)]
    rows = session.execute(select(t.day, t.currency, *sums).where(  # a day's slots together
        t.merchant_id == merchant_id, t.livemode == livemode, t.day >= start, t.day <= end)
        .group_by(t.day, t.currency).order_by(t.day, t.currency)).all()
    return [{"date": r.day.isoformat(), "currency": r.currency, "gross": r.gross,
             "refunds": r.refunds, "fees": r.fees, "net": r.gross - r.refunds - r.fees,
             "payouts": r.payouts, "payment_count": r.payment_count,
             "refund_count": r.refund_count, "payout_count": r.payout_count} for r in rows]


def settlement_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=SETTLEMENT_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def summary(session: Session, merchant_id: str, start: date, end: date,
            livemode: bool = False) -> dict:
    """Payments created from ``start`` to ``end`` (inclusive, UTC days): count and volume by
    status and provider per currency, and the success rate (succeeded / (succeeded +
    failed))."""
    mode = Payment.__table__.columns.get("livemode")
    counted: dict[tuple[str, str, str], list[int]] = {}
    done = summary_rollup.rolled_up_days(session, merchant_id, start, end)
    if done:
        r = PaymentDailySummary
        for currency, status, provider, count, volume in session.execute(
                select(r.currency, r.status, r.provider, func.sum(r.count), func.sum(r.volume))
                .where(r.merchant_id == merchant_id, r.livemode == livemode,
                       r.day.in_(sorted(done)))
                .group_by(r.currency, r.status, r.provider)).tuples():
            sums = counted.setdefault((currency, status, provider), [0, 0])
            sums[0] += int(count)
            sums[1] += int(volume or 0)
    for first, last in summary_rollup.live_ranges(start, end, done):
        lo, hi = summary_rollup.id_range(first, last)
        filters = [Payment.merchant_id == merchant_id, Payment.id >= lo, Payment.id < hi]
        if mode is not None:  # payments gain ``livemode`` with test and live mode
            filters.append(mode == livemode)
        for currency, status, provider, count, volume in session.execute(
                select(Payment.currency, Payment.status, Payment.provider, func.count(),
                       func.sum(Payment.amount))
                .where(*filters)
                .group_by(Payment.currency, Payment.status, Payment.provider)).tuples():
            sums = counted.setdefault((currency, status, provider), [0, 0])
            sums[0] += int(count)
            sums[1] += int(volume or 0)
    rows = [(c, s, p, n, v) for (c, s, p), (n, v) in sorted(counted.items())]
    by_status: list[dict] = []
    by_provider: dict[tuple, dict] = {}
    totals: dict[str, dict] = {}
    for currency, status, provider, count, volume in rows:
        volume = int(volume or 0)
        by_status.append({"currency": currency, "status": status, "provider": provider,
                          "count": count, "volume": volume})
        p = by_provider.setdefault((currency, provider), {
            "currency": currency, "provider": provider, "count": 0, "volume": 0,
            "succeeded": 0, "failed": 0})
        t = totals.setdefault(currency, {"currency": currency, "count": 0, "volume": 0,
                                         "succeeded": 0, "failed": 0,
                                         "succeeded_volume": 0})
        for bucket in (p, t):
            bucket["count"] += count
            bucket["volume"] += volume
            if status in SUCCEEDED:
                bucket["succeeded"] += count
            elif status == PaymentStatus.FAILED:
                bucket["failed"] += count
        if status in SUCCEEDED:
            t["succeeded_volume"] += volume
    for bucket in [*by_provider.values(), *totals.values()]:
        decided = bucket["succeeded"] + bucket["failed"]
        bucket["success_rate"] = round(bucket["succeeded"] / decided, 4) if decided else None
    return {"object": "report.summary", "from": start.isoformat(), "to": end.isoformat(),
            "currencies": list(totals.values()), "by_provider": list(by_provider.values()),
            "by_status": by_status}
