"""Development mode: the ledger posts, releases, pays out and checks on embedded SQLite too
(balanced entries are checked in code there; PostgreSQL also enforces them at commit)."""
from __future__ import annotations

from datetime import timedelta

from shared.config import Config
from shared.db import Database, utcnow
from shared.ledger import balance, payouts
from shared.merchants.credentials import create_merchant
from shared.migrate import upgrade
from shared.payments import service as payment_service
from shared.payments.processing import process_payment
from shared.refunds import service as refund_service
from shared.refunds.processing import process_refund
from shared.reporting.check import check


def test_the_ledger_works_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path}/dev.db"
    upgrade(url)
    config = Config.from_env({"DATABASE_URL": url, "GATEWAY_VAR_DIR": str(tmp_path)})
    db = Database(url)
    try:
        with db.transaction() as session:
            merchant_id = create_merchant(session, "Dev")[0].id
        with db.transaction() as session:
            payment_id = payment_service.create_payment(session, config, merchant_id, {
                "amount": 10_000, "currency": "INR",
                "payment_method": {"type": "card", "token": "tok_success"}}).id
        assert process_payment(db, config, payment_id) == "completed"
        assert balance.release_available(db, now=utcnow() + timedelta(days=3)) == 1
        with db.transaction() as session:
            refund_id = refund_service.create_refund(session, merchant_id, {
                "payment_id": payment_id, "amount": 1_000}).id
        assert process_refund(db, config, refund_id) == "completed"
        with db.transaction() as session:
            payout_id = payouts.create_payout(session, merchant_id, {
                "amount": 8_000, "currency": "INR"}).id
        assert payouts.process_payout(db, payout_id) == "paid"
        with db.transaction() as session:
            assert balance.get_balance(session, merchant_id)["available"] == [
                {"currency": "INR", "amount": 800}]
        assert check(db) == []
        from shared.reporting import reports, summary_rollup
        assert summary_rollup.refresh(db) == 1
        with db.transaction() as session:
            today = utcnow().date()
            (inr,) = reports.summary(session, merchant_id, today, today)["currencies"]
        assert (inr["count"], inr["volume"]) == (1, 10_000)
    finally:
        db.dispose()
