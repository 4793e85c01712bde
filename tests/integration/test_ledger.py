"""The ledger: every money movement posts one balanced entry, in the transaction of the status
change; balance, balance transactions, payouts and the invariant (SPEC "Ledger, balances and
payouts")."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from shared.db import utcnow
from shared.ledger import balance, deltas, fees
from shared.ledger.deltas import with_deltas
from shared.ledger.journal import Entry, Line, Posting, _slot
from shared.ledger.models import (
    BalanceDelta,
    BalanceTransaction,
    DailyTotal,
    JournalEntry,
    JournalLine,
    LedgerAccount,
    Payout,
    SandboxBankTransfer,
)
from shared.ledger.payouts import process_payout
from shared.payments.models import Payment
from shared.payments.processing import apply_payment_result, process_payment
from shared.providers.base import Outcome, PaymentResult
from shared.refunds.processing import process_refund
from shared.reporting.check import check
from tests.factories import create_payment, create_refund, create_webhook_endpoint

LATER = timedelta(days=3)


@pytest.fixture
def pay(client, merchant, db, config):
    def make(amount=10_000, token="tok_success", currency="INR", who=None):
        who = who or merchant
        body = create_payment(client, who["headers"], amount=amount, currency=currency,
                              token=token)
        process_payment(db, config, body["id"])
        return body["id"]
    return make


def get_balance(client, who):
    body = client.get("/api/v1/balance", headers=who["headers"]).get_json()
    assert body["object"] == "balance"
    return ({a["currency"]: a["amount"] for a in body["available"]},
            {a["currency"]: a["amount"] for a in body["pending"]})


def refund(client, who, db, config, payment_id, amount=None):
    r = create_refund(client, who["headers"], payment_id, amount=amount)
    return process_refund(db, config, r["id"])


def test_completed_payment_is_pending_net_of_the_default_fee_until_available_on(
        client, merchant, db, pay):
    pay(10_000)
    assert get_balance(client, merchant) == ({"INR": 0}, {"INR": 9_800})  # FEE_BPS=200
    txns = client.get("/api/v1/balance_transactions", headers=merchant["headers"]).get_json()
    (txn,) = txns["data"]
    assert txn["id"].startswith("txn_")
    assert (txn["type"], txn["amount"], txn["fee"], txn["net"], txn["status"]) == (
        "payment", 10_000, 200, 9_800, "pending")
    assert txn["source"].startswith("pay_") and txn["available_on"] > txn["created"]
    assert balance.release_available(db) == 0  # not yet
    assert balance.release_available(db, now=utcnow() + LATER) == 1
    assert balance.release_available(db, now=utcnow() + LATER) == 0  # idempotent
    assert get_balance(client, merchant) == ({"INR": 9_800}, {"INR": 0})
    assert check(db) == []


def test_every_entry_balances_and_posting_twice_posts_once(client, merchant, db, pay):
    pid = pay(5_000)
    with db.transaction() as session:
        payment = session.get(Payment, pid, with_for_update=True)
        from shared.ledger import posting
        posting.payment_completed(session, payment)  # a duplicate delivery of the hook
        # A duplicate provider answer changes nothing either.
        assert not apply_payment_result(session, payment,
                                        PaymentResult(outcome=Outcome.SUCCEEDED))
    with db.transaction() as session:
        kinds = sorted(session.scalars(select(JournalEntry.kind).where(
            JournalEntry.source_id == pid)))
        assert kinds == ["fee", "payment"]
        assert session.scalar(select(func.count()).select_from(BalanceTransaction)) == 1
        for side_sums in session.execute(text(
                "SELECT entry_id, sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) "
                "FROM ledger_lines GROUP BY entry_id")).all():
            assert side_sums[1] == 0
    assert check(db) == []


def test_a_books_first_posting_creates_its_accounts_and_later_ones_find_them_by_kind(
        client, merchant, db, pay):
    from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH, MAX_CACHED_STATEMENT_PARAMS
    from sqlalchemy import event
    postings: list[tuple[str, dict]] = []

    def seen(conn, cursor, statement, params, context, executemany):
        if "ledger_entries" in statement and "INSERT" in statement:
            postings.append((statement, params))
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        pay(5_000, currency="EUR")   # the merchant's first EUR posting: no accounts yet
        first = len(postings)
        pay(7_000, currency="EUR")
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    # The first ran once by kind (nothing written: accounts missing), then by id; the second
    # found the accounts by kind in its one statement.
    assert first == 2 and len(postings) == 3
    def accounts_cte(statement):  # the accounts part: by kind (one book) or by id
        return statement.split(" v AS ")[0]
    assert "account_kind" in accounts_cte(postings[0][0])
    assert "account_kind" not in accounts_cte(postings[1][0])
    assert postings[2][0] == postings[0][0]
    # One SQL text whatever the amounts, short enough for psycopg to cache and prepare it.
    statement, params = postings[2]
    assert len(statement) <= MAX_CACHED_STATEMENT_LENGTH
    assert len(params) <= MAX_CACHED_STATEMENT_PARAMS
    available, pending = get_balance(client, merchant)
    with db.transaction() as session:
        eur = {kind: amount for kind, amount in session.execute(
            select(LedgerAccount.kind, with_deltas(LedgerAccount.id, LedgerAccount.balance)).where(
                LedgerAccount.merchant_id == merchant["merchant_id"],
                LedgerAccount.currency == "EUR"))}
    assert eur["provider:sandbox"] == -12_000
    assert pending.get("EUR", 0) + available.get("EUR", 0) == 12_000 - eur.get("fees", 0)
    assert check(db) == []


def _stored_balances(db, merchant, currency="INR") -> tuple[dict, int]:
    """(kind -> the account's stored balance, without deltas; the number of deltas)."""
    with db.transaction() as session:
        stored = dict(session.execute(select(LedgerAccount.kind, LedgerAccount.balance).where(
            LedgerAccount.merchant_id == merchant["merchant_id"],
            LedgerAccount.currency == currency)).tuples().all())
        return stored, session.scalar(select(func.count()).select_from(BalanceDelta))


def test_a_payments_posting_adds_deltas_that_fold_into_its_accounts(client, merchant, db,
                                                                      pay):
    ids = [pay(10_000), pay(5_000)]
    stored, n_deltas = _stored_balances(db, merchant)
    # Neither posting locked or moved the accounts: one delta per account moved
    # (provider, pending, fees), and every reader adds them.
    assert n_deltas == 6 and set(stored.values()) == {0}
    before = get_balance(client, merchant)
    assert before == ({"INR": 0}, {"INR": 14_700})  # 9,800 + 4,900
    assert check(db) == []
    # Daily totals: each payment added to its own slot row of the day, the report sums them.
    with db.transaction() as session:
        slots = sorted(session.scalars(select(DailyTotal.slot)))
    assert slots == sorted({_slot(pid) for pid in ids}) and all(1 <= s <= 16 for s in slots)
    day = utcnow().date().isoformat()
    report = client.get(f"/api/v1/reports/settlement?from={day}&to={day}",
                        headers=merchant["headers"]).get_json()
    (inr,) = report["data"]
    assert (inr["gross"], inr["fees"], inr["payment_count"]) == (15_000, 300, 2)

    with db.transaction() as session:
        assert deltas.fold(session) == 6
    stored, n_deltas = _stored_balances(db, merchant)
    assert n_deltas == 0
    assert (stored["pending"], stored["fees"], stored["provider:sandbox"]) == (
        14_700, 300, -15_000)
    assert get_balance(client, merchant) == before
    assert check(db) == []
    with db.transaction() as session:
        assert deltas.fold(session) == 0  # nothing left: folding again changes nothing
    assert _stored_balances(db, merchant) == (stored, 0)


def test_folding_while_payments_complete_loses_and_doubles_nothing(client, merchant, db,
                                                                    config):
    amounts = [1_000 + i for i in range(24)]
    ids = [create_payment(client, merchant["headers"], amount=a)["id"] for a in amounts]
    stop, folded, fold_errors = threading.Event(), [], []

    def fold_until_stopped():
        try:
            while not stop.is_set():
                with db.transaction() as session:
                    folded.append(deltas.fold(session))
        except Exception as exc:  # e.g. a deadlock with a settle: the fold must not die
            fold_errors.append(exc)
    folder = threading.Thread(target=fold_until_stopped)
    folder.start()
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            outcomes = list(pool.map(lambda pid: process_payment(db, config, pid), ids))
    finally:
        stop.set()
        folder.join()
    assert outcomes == ["completed"] * len(ids)
    assert fold_errors == []
    with db.transaction() as session:
        folded.append(deltas.fold(session))
    assert sum(folded) == 3 * len(ids)  # every delta folded exactly once
    stored, n_deltas = _stored_balances(db, merchant)
    assert n_deltas == 0 and stored["provider:sandbox"] == -sum(amounts)
    assert check(db) == []


def test_a_posting_that_defers_balances_cannot_move_available(db, merchant):
    entry = Entry(merchant_id=merchant["merchant_id"], currency="INR", livemode=False,
                  kind="adjustment", source_id="x_1",
                  lines=[Line("available", "debit", 100), Line("pending", "credit", 100)])
    with db.transaction() as session:
        with pytest.raises(ValueError, match="available"):
            Posting(session, defer_balances=True).add(entry)
        Posting(session).add(entry)  # a posting that locks its accounts may


def test_an_unbalanced_entry_cannot_be_committed(db, merchant):
    with db.transaction() as session:
        account = LedgerAccount(merchant_id=merchant["merchant_id"], currency="INR",
                                livemode=False, kind="available", balance=0)
        session.add(account)
    with pytest.raises(IntegrityError, match="does not balance"):
        with db.transaction() as session:
            entry = JournalEntry(merchant_id=merchant["merchant_id"], currency="INR",
                                 livemode=False, kind="adjustment", source_id="x_1")
            session.add(entry)
            session.flush()
            session.add(JournalLine(entry_id=entry.id, account_id=account.id, side="debit",
                                    amount=100))
            session.add(JournalLine(entry_id=entry.id, account_id=account.id, side="credit",
                                    amount=99))
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(JournalEntry)) == 0


def test_entries_are_append_only(db, pay):
    pay(1_000)
    with pytest.raises(DBAPIError, match="append-only"):
        with db.transaction() as session:
            session.execute(text("UPDATE ledger_lines SET amount = amount + 1"))
    with pytest.raises(DBAPIError, match="append-only"):
        with db.transaction() as session:
            session.execute(text("DELETE FROM ledger_entries"))
    assert check(db) == []


def test_fee_schedule_per_merchant_and_currency(client, merchant, db, pay):
    with db.transaction() as session:
        fees.set_schedule(session, merchant["merchant_id"], "INR", 290, 300)
    pay(10_050)  # 2.9 % of 10050 = 291.45 -> 291, + 300
    pay(1_000, currency="USD")  # default 2 %
    txns = client.get("/api/v1/balance_transactions", headers=merchant["headers"]).get_json()
    assert sorted((t["currency"], t["fee"]) for t in txns["data"]) == [("INR", 591),
                                                                       ("USD", 20)]


def test_refund_is_taken_from_available_and_fees_are_not_returned(client, merchant, db,
                                                                   config, pay):
    pid = pay(10_000)
    balance.release_available(db, now=utcnow() + LATER)
    assert refund(client, merchant, db, config, pid, 4_000) == "completed"
    assert get_balance(client, merchant) == ({"INR": 5_800}, {"INR": 0})
    assert refund(client, merchant, db, config, pid) == "completed"
    assert get_balance(client, merchant) == ({"INR": -200}, {"INR": 0})
    refunds = client.get("/api/v1/balance_transactions?type=refund",
                         headers=merchant["headers"]).get_json()["data"]
    assert sorted(t["net"] for t in refunds) == [-6_000, -4_000]
    assert check(db) == []


def test_failed_payments_and_failed_refunds_post_nothing(client, merchant, db, config, pay):
    pay(3_000, token="tok_decline")
    pid = pay(3_000, token="tok_refund_fail")
    assert refund(client, merchant, db, config, pid) == "failed"
    with db.transaction() as session:
        assert sorted(session.scalars(select(JournalEntry.kind))) == ["fee", "payment"]
    assert get_balance(client, merchant) == ({"INR": 0}, {"INR": 2_940})
    assert check(db) == []


def post_payout(client, who, amount, **extra):
    return client.post("/api/v1/payouts", headers=who["owner_headers"],
                       json={"amount": amount, "currency": "INR", **extra})


def test_payout_pays_from_available_and_is_paid_once(client, merchant, db, pay, published):
    pay(10_000)
    assert post_payout(client, merchant, 1).status_code == 400  # nothing available yet
    balance.release_available(db, now=utcnow() + LATER)
    response = post_payout(client, merchant, 9_000)
    assert response.status_code == 201, response.get_json()
    payout = response.get_json()
    assert (payout["status"], payout["object"], payout["id"][:3]) == ("pending", "payout", "po_")
    assert ("gateway.process_payout", [payout["id"]], "maintenance") in published
    assert get_balance(client, merchant) == ({"INR": 800}, {"INR": 0})
    assert check(db) == []
    assert process_payout(db, payout["id"]) == "paid"
    assert process_payout(db, payout["id"]) == "already paid"
    got = client.get(f"/api/v1/payouts/{payout['id']}",
                     headers=merchant["owner_headers"]).get_json()
    assert got["status"] == "paid" and got["arrived_at"]
    with db.transaction() as session:
        assert session.scalar(select(SandboxBankTransfer.calls)) == 1
    listed = client.get(f"/api/v1/balance_transactions?payout_id={payout['id']}",
                        headers=merchant["headers"]).get_json()["data"]
    assert [(t["type"], t["net"]) for t in listed] == [("payout", -9_000)]
    events = client.get("/api/v1/events?type=payout.paid",
                        headers=merchant["headers"]).get_json()["data"]
    assert [e["data"]["object"]["id"] for e in events] == [payout["id"]]
    assert check(db) == []


def test_failed_payout_returns_its_amount(client, merchant, db, pay):
    pay(10_000)
    balance.release_available(db, now=utcnow() + LATER)
    payout = post_payout(client, merchant, 9_800, destination="bank_account_closed").get_json()
    assert get_balance(client, merchant) == ({"INR": 0}, {"INR": 0})
    assert process_payout(db, payout["id"]) == "failed"
    got = client.get(f"/api/v1/payouts/{payout['id']}",
                     headers=merchant["owner_headers"]).get_json()
    assert (got["status"], got["failure_code"]) == ("failed", "account_closed")
    assert get_balance(client, merchant) == ({"INR": 9_800}, {"INR": 0})
    events = client.get("/api/v1/events?type=payout.failed",
                        headers=merchant["headers"]).get_json()["data"]
    assert len(events) == 1
    assert check(db) == []


def test_payouts_never_exceed_available_under_concurrency(app, merchant, db, pay):
    pay(10_000)
    balance.release_available(db, now=utcnow() + LATER)  # 9,800 available

    def send(_):
        with app.test_client() as c:
            return post_payout(c, merchant, 3_000).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(send, range(12)))
    assert statuses.count(201) == 3 and statuses.count(400) == 9, statuses
    with db.transaction() as session:
        assert session.scalar(select(func.sum(Payout.amount))) == 9_000
    with app.test_client() as c:
        assert get_balance(c, merchant)[0] == {"INR": 800}
    assert check(db) == []


def test_payout_bad_input_is_refused_and_changes_nothing(client, merchant, db, pay):
    pay(10_000)
    balance.release_available(db, now=utcnow() + LATER)
    h = merchant["owner_headers"]  # payouts are an owner's or admin's (the roles table)
    cases = [({"amount": "100", "currency": "INR"}, "amount"),
             ({"amount": 10.5, "currency": "INR"}, "amount"),
             ({"amount": True, "currency": "INR"}, "amount"),
             ({"amount": 10**13, "currency": "INR"}, "amount"),
             ({"amount": 0, "currency": "INR"}, "amount"),
             ({"currency": "INR"}, "amount"),
             ({"amount": 100}, "currency"),
             ({"amount": 100, "currency": "inr"}, "currency"),
             ({"amount": 100, "currency": "INR", "destination": "x" * 65}, "destination"),
             ({"amount": 100, "currency": "INR", "metadata": {"k": 1}}, "metadata"),
             ({"amount": 9_801, "currency": "INR"}, "amount")]
    for body, param in cases:
        response = client.post("/api/v1/payouts", headers=h, json=body)
        assert response.status_code == 400, (body, response.get_json())
        error = response.get_json()["error"]
        assert error["param"] == param and error["request_id"].startswith("req_"), error
    response = client.post("/api/v1/payouts", headers=h, data="{not json",
                           content_type="application/json")
    assert response.status_code == 400
    response = client.post("/api/v1/payouts", headers=h, data="amount=1",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert client.post("/api/v1/payouts", json={"amount": 1, "currency": "INR"}
                       ).status_code == 401
    api_key = client.post("/api/v1/payouts", headers=merchant["headers"],
                          json={"amount": 100, "currency": "INR"})
    assert api_key.status_code == 403
    assert api_key.get_json()["error"]["code"] == "insufficient_role"
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Payout)) == 0
    assert get_balance(client, merchant)[0] == {"INR": 9_800}


def test_another_merchants_ledger_is_invisible(client, merchant, make_merchant, db, pay):
    other = make_merchant("Other")
    pay(10_000)
    balance.release_available(db, now=utcnow() + LATER)
    payout = post_payout(client, merchant, 1_000).get_json()
    assert client.get(f"/api/v1/payouts/{payout['id']}",
                      headers=other["owner_headers"]).status_code == 404
    assert client.get("/api/v1/payouts", headers=other["owner_headers"]).get_json()["data"] == []
    assert client.get("/api/v1/balance_transactions",
                      headers=other["headers"]).get_json()["data"] == []
    assert get_balance(client, other) == ({}, {})
    assert client.get(f"/api/v1/balance_transactions?payout_id={payout['id']}",
                      headers=other["headers"]).get_json()["data"] == []
    # Another merchant's available balance is not theirs to pay out.
    assert post_payout(client, other, 1_000).status_code == 400


def test_balance_transaction_filters_and_pages(client, merchant, pay):
    for amount in (1_000, 2_000, 3_000):
        pay(amount)
    h = merchant["headers"]
    page = client.get("/api/v1/balance_transactions?limit=2", headers=h).get_json()
    assert [t["amount"] for t in page["data"]] == [3_000, 2_000] and page["has_more"]
    rest = client.get(f"/api/v1/balance_transactions?limit=2&starting_after="
                      f"{page['data'][-1]['id']}", headers=h).get_json()
    assert [t["amount"] for t in rest["data"]] == [1_000] and not rest["has_more"]
    future = (utcnow() + timedelta(hours=1)).isoformat()
    assert client.get("/api/v1/balance_transactions", headers=h,
                      query_string={"created[gte]": future}).get_json()["data"] == []
    for query in ("type=bogus", "limit=0", "limit=1000", "payout_id=pay_x",
                  "created[gte]=yesterday"):
        response = client.get(f"/api/v1/balance_transactions?{query}", headers=h)
        assert response.status_code == 400, query


def test_daily_payouts_pay_everything_available_once_a_day(client, merchant, db, pay):
    from shared.ledger import payouts, settings
    pay(10_000)
    balance.release_available(db, now=utcnow() + LATER)
    base = settings.current()
    daily = settings.LedgerSettings(base.fee_bps, base.fee_fixed, base.settlement_delay_s,
                                    "daily")
    assert payouts.daily_payouts(db) == 0  # PAYOUT_SCHEDULE=manual
    with settings.override(daily):
        assert payouts.daily_payouts(db) == 1
        assert payouts.daily_payouts(db) == 0
    (payout,) = client.get("/api/v1/payouts", headers=merchant["owner_headers"]).get_json()["data"]
    assert (payout["amount"], payout["method"]) == (9_800, "automatic")
    assert check(db) == []


def test_ledger_check_finds_a_broken_invariant(db, pay, merchant):
    pid = pay(10_000)
    assert check(db) == []
    # A payment row that says completed with no posting (as a buggy path would leave it).
    with db.transaction() as session:
        session.execute(text("UPDATE payments SET amount = amount + 1 WHERE id = :id"),
                        {"id": pid})
    found = check(db)
    assert any("available + pending" in p for p in found), found


def test_ledger_check_command_exit_status(db, pay, base_env, monkeypatch, capsys):
    from shared.cli import main
    for name, value in base_env.items():
        monkeypatch.setenv(name, value)
    pay(10_000)
    assert main(["ledger-check", "--json"]) == 0
    with db.transaction() as session:
        session.execute(text("UPDATE ledger_accounts SET balance = balance + 1 "
                             "WHERE kind = 'pending'"))
    assert main(["ledger-check"]) == 1
    assert "balance" in capsys.readouterr().out



def test_payout_events_reach_subscribed_webhook_endpoints(client, merchant, db, pay):
    from shared.webhooks.models import Event, WebhookLog
    h = merchant["headers"]
    create_webhook_endpoint(client, h, url="http://localhost:9/hook",
                            events=["payout.paid", "payout.failed"])
    pay(10_000)
    balance.release_available(db, now=utcnow() + LATER)
    ok = post_payout(client, merchant, 1_000).get_json()
    bad = post_payout(client, merchant, 1_000, destination="bank_account_invalid").get_json()
    assert (process_payout(db, ok["id"]), process_payout(db, bad["id"])) == ("paid", "failed")
    with db.transaction() as session:
        events = {e.type: e.id for e in session.scalars(select(Event).where(
            Event.type.in_(["payout.paid", "payout.failed", "payment.completed"])))}
    with db.transaction() as session:
        delivered = set(session.scalars(select(WebhookLog.event_id)))
    assert delivered == {events["payout.paid"], events["payout.failed"]}


def test_a_payout_whose_job_was_lost_is_requeued_once_per_interval(client, merchant, db, pay,
                                                                     published):
    from shared.ledger.payouts import requeue_stuck_payouts
    pay(10_000)
    balance.release_available(db, now=utcnow() + LATER)
    payout = post_payout(client, merchant, 1_000).get_json()
    assert requeue_stuck_payouts(db, older_than_s=60) == 0  # just made: its job is queued
    with db.transaction() as session:
        session.execute(text("UPDATE payouts SET updated_at = now() - interval '2 minutes'"))
    assert requeue_stuck_payouts(db, older_than_s=60) == 1
    assert requeue_stuck_payouts(db, older_than_s=60) == 0  # touched: not again at once
    assert process_payout(db, payout["id"]) == "paid"
