"""Settlement and summary reports: they match the ledger to the minor unit; CSV is real CSV."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shared.db import utcnow
from shared.ledger import balance
from shared.ledger.deltas import with_deltas
from shared.ledger.models import BalanceTransaction, LedgerAccount
from shared.ledger.payouts import process_payout
from shared.payments.processing import process_payment
from shared.refunds.processing import process_refund
from tests.factories import completed_payment, create_payment, create_refund


@pytest.fixture
def activity(client, merchant, db, config):
    h = merchant["headers"]
    ids = []
    for amount, token in ((10_000, "tok_success"), (2_550, "tok_success"),
                          (777, "tok_decline"), (5_000, "tok_success")):
        body = create_payment(client, h, amount=amount, token=token)
        process_payment(db, config, body["id"])
        ids.append(body["id"])
    completed_payment(client, h, db, config, amount=1_999, currency="USD")
    r = create_refund(client, h, ids[0], amount=3_000)
    balance.release_available(db, now=utcnow() + timedelta(days=3))
    process_refund(db, config, r["id"])
    payout = client.post("/api/v1/payouts", headers=merchant["owner_headers"],
                         json={"amount": 4_000, "currency": "INR"}).get_json()
    process_payout(db, payout["id"])
    return ids


def today() -> str:
    return utcnow().date().isoformat()


def test_settlement_matches_the_ledger_to_the_minor_unit(client, merchant, db, activity):
    body = client.get(f"/api/v1/reports/settlement?from={today()}&to={today()}",
                      headers=merchant["headers"]).get_json()
    rows = {r["currency"]: r for r in body["data"]}
    inr = rows["INR"]
    assert (inr["gross"], inr["refunds"], inr["payouts"], inr["payment_count"]) == (
        17_550, 3_000, 4_000, 3)
    assert inr["fees"] == 200 + 51 + 100  # 2 % each, half up
    assert inr["net"] == inr["gross"] - inr["refunds"] - inr["fees"]
    assert rows["USD"]["gross"] == 1_999 and rows["USD"]["fees"] == 40
    with db.transaction() as session:
        accounts = dict(session.execute(
            select(LedgerAccount.kind, with_deltas(LedgerAccount.id, LedgerAccount.balance))
            .where(LedgerAccount.currency == "INR")).tuples().all())
        fee_total = session.scalar(select(func.sum(BalanceTransaction.fee)).where(
            BalanceTransaction.currency == "INR"))
    assert inr["fees"] == accounts["fees"] == fee_total
    assert inr["payouts"] == accounts["paid_out"]
    held = accounts["available"] + accounts["pending"] + accounts["payouts_in_transit"]
    assert held == inr["net"] - inr["payouts"]


def test_settlement_csv_has_a_header_iso_dates_and_parses_back(client, merchant, activity):
    response = client.get(f"/api/v1/reports/settlement?from={today()}&to={today()}&format=csv",
                          headers=merchant["headers"])
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.splitlines()[0] == ("date,currency,gross,refunds,fees,net,payouts,"
                                    "payment_count,refund_count,payout_count")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["date"] for r in rows} == {today()}
    json_rows = client.get(f"/api/v1/reports/settlement?from={today()}&to={today()}",
                           headers=merchant["headers"]).get_json()["data"]
    assert [{k: str(v) for k, v in r.items()} for r in json_rows] == rows


def test_settlement_outside_the_range_is_empty(client, merchant, activity):
    body = client.get("/api/v1/reports/settlement?from=2020-01-01&to=2020-12-31",
                      headers=merchant["headers"]).get_json()
    assert body["data"] == []


def test_summary_counts_volume_and_success_rate(client, merchant, activity):
    body = client.get(f"/api/v1/reports/summary?from={today()}&to={today()}",
                      headers=merchant["headers"]).get_json()
    inr = next(c for c in body["currencies"] if c["currency"] == "INR")
    assert (inr["count"], inr["succeeded"], inr["failed"]) == (4, 3, 1)
    assert inr["volume"] == 10_000 + 2_550 + 777 + 5_000
    assert inr["success_rate"] == 0.75
    statuses = {(s["currency"], s["status"]): s["count"] for s in body["by_status"]}
    assert statuses[("INR", "failed")] == 1 and statuses[("INR", "partially_refunded")] == 1
    assert {p["provider"] for p in body["by_provider"]} == {"sandbox"}


def test_reports_refuse_bad_ranges_and_formats(client, merchant):
    h = merchant["headers"]
    for query in ("", "from=2026-01-01", "from=2026-02-01&to=2026-01-01",
                  "from=yesterday&to=2026-01-01", "from=2026-01-01&to=2026-01-02&format=xml",
                  "from=1900-01-01&to=2026-01-01"):
        for path in ("settlement", "summary"):
            if "format" in query and path == "summary":
                continue
            response = client.get(f"/api/v1/reports/{path}?{query}", headers=h)
            assert response.status_code == 400, (path, query, response.get_json())
            assert response.get_json()["error"]["request_id"]


def test_reports_show_only_the_merchants_own_data(client, make_merchant, activity):
    other = make_merchant("Other")
    body = client.get(f"/api/v1/reports/settlement?from={today()}&to={today()}",
                      headers=other["headers"]).get_json()
    assert body["data"] == []
    summary = client.get(f"/api/v1/reports/summary?from={today()}&to={today()}",
                         headers=other["headers"]).get_json()
    assert summary["currencies"] == [] and summary["by_status"] == []


def test_ledger_routes_are_in_the_openapi_document(client):
    paths = client.get("/docs/openapi.json").get_json()["paths"]
    for path in ("/api/v1/balance", "/api/v1/balance_transactions", "/api/v1/payouts",
                 "/api/v1/payouts/{payout_id}", "/api/v1/reports/settlement",
                 "/api/v1/reports/summary"):
        assert path in paths, path
    assert "requestBody" in paths["/api/v1/payouts"]["post"]


def test_summary_from_the_rollup_equals_counting_live_and_follows_later_changes(
        client, merchant, db, config):
    """Payments of earlier days are read from the rollup once it was rebuilt after the day
    ended; a later status change (a refund) shows after the next rebuild."""
    from shared.ids import new_id
    from shared.payments.models import Payment
    from shared.reporting import summary_rollup
    h = merchant["headers"]
    now = utcnow()
    made = []
    with db.transaction() as session:
        for days_ago, status, amount in ((3, "completed", 1_000), (3, "failed", 2_000),
                                         (2, "completed", 4_000), (1, "refunded", 8_000)):
            at = now - timedelta(days=days_ago)
            payment = Payment(id=new_id("payment", int(at.timestamp() * 1000)),
                              merchant_id=merchant["merchant_id"], amount=amount,
                              currency="INR", status=status, amount_refunded=0,
                              amount_refund_reserved=0, provider="sandbox",
                              payment_method={"type": "card", "token": "tok_success"},
                              metadata_={}, attempts=1, created_at=at, updated_at=now)
            session.add(payment)
            made.append(payment.id)
    start = (now - timedelta(days=5)).date().isoformat()
    url = f"/api/v1/reports/summary?from={start}&to={today()}"
    live = client.get(url, headers=h).get_json()
    assert summary_rollup.refresh(db) == 3  # three earlier days changed
    assert summary_rollup.refresh(db) == 3  # the margin re-reads the last 30 s: harmless
    with db.transaction() as session:
        assert summary_rollup.rolled_up_days(session, merchant["merchant_id"],
                                             (now - timedelta(days=5)).date(),
                                             now.date()) != set()
    assert client.get(url, headers=h).get_json() == live
    inr = next(c for c in live["currencies"] if c["currency"] == "INR")
    assert (inr["count"], inr["volume"], inr["succeeded"], inr["failed"]) == (4, 15_000, 3, 1)
    # A payment of three days ago is refunded now.
    with db.transaction() as session:
        session.get(Payment, made[0]).status = "refunded"
    summary_rollup.refresh(db)
    statuses = {s["status"]: s["count"] for s in
                client.get(url, headers=h).get_json()["by_status"]}
    assert statuses == {"refunded": 2, "failed": 1, "completed": 1}
