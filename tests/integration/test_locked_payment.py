"""shared.payments.locked: the worker's Core read and write of a locked payment."""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from shared.payments.locked import LockedPayment
from shared.payments.models import Payment
from tests.factories import create_payment


@contextmanager
def statements(db, prefix: str):
    """The SQL statements starting with ``prefix`` that ``db`` runs inside the block."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_):
        if statement.lstrip().startswith(prefix):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_save_writes_only_what_changed_and_nothing_when_unchanged(client, merchant, db):
    pid = create_payment(client, merchant["headers"])["id"]
    with statements(db, "UPDATE payments") as updates:
        with db.transaction() as session:
            payment = LockedPayment.lock(session, pid)
            assert payment is not None and payment.status == "pending"
            assert payment.metadata_ == {} and payment.payment_method["token"] == "tok_success"
            payment.save(session)                       # nothing changed: no statement
            assert updates == []
            payment.attempts += 1
            payment.risk = {"decision": "allow", "rules": []}
            payment.save(session)
            payment.save(session)                       # saved already: no second statement
        with db.transaction() as session:
            assert LockedPayment.lock(session, "pay_missing") is None
    assert len(updates) == 1
    assert "attempts" in updates[0] and "risk" in updates[0] and "status" not in updates[0]
    with db.transaction() as session:
        row = session.get(Payment, pid)
        assert (row.attempts, row.risk, row.status) == (1, {"decision": "allow", "rules": []},
                                                        "pending")


def test_lock_many_locks_the_rows_that_exist_with_one_statement(client, merchant, db):
    ids = [create_payment(client, merchant["headers"])["id"] for _ in range(3)]
    with statements(db, "SELECT") as selects, db.transaction() as session:
        locked = LockedPayment.lock_many(session, [ids[2], "pay_missing", ids[0], ids[1]],
                                         with_receipts=True)
    assert sorted(locked) == sorted(ids)
    assert all(locked[i].id == i and locked[i].receipts_on is False for i in ids)
    assert len(selects) == 1 and "FOR UPDATE" in selects[0] and "ORDER BY" in selects[0]


def test_process_payments_answers_each_in_the_order_given(client, merchant, db, config):
    from shared.payments.processing import process_payment, process_payments
    done, fresh, other = (create_payment(client, merchant["headers"])["id"] for _ in range(3))
    assert process_payment(db, config, done) == "completed"
    assert process_payments(db, config, [fresh, "pay_missing", done, other]) == [
        "completed", "missing", "already completed", "completed"]
    for pid in (fresh, done, other):
        assert client.get(f"/api/v1/payments/{pid}",
                          headers=merchant["headers"]).get_json()["status"] == "completed"


def test_a_settled_batch_is_posted_with_one_ledger_statement_per_book(client, merchant, db,
                                                                       config):
    from shared.ledger.models import BalanceTransaction, JournalEntry
    from shared.payments.processing import process_payments
    from shared.reporting.check import check
    ids = [create_payment(client, merchant["headers"], amount=1_000 * (i + 1))["id"]
           for i in range(4)]
    first = create_payment(client, merchant["headers"])["id"]
    assert process_payments(db, config, [first]) == ["completed"]  # the book's accounts
    with statements(db, "WITH lk") as postings, \
            statements(db, "INSERT INTO balance_transactions") as txn_inserts:
        assert process_payments(db, config, ids) == ["completed"] * 4
    assert len(postings) == 1 and len(txn_inserts) == 1
    with db.transaction() as session:
        entries = session.query(JournalEntry.source_id, JournalEntry.kind).filter(
            JournalEntry.source_id.in_(ids)).all()
        assert sorted(entries) == sorted((pid, kind) for pid in ids for kind in ("fee",
                                                                                 "payment"))
        txns = {t.source_id: t for t in session.query(BalanceTransaction)}
    assert {pid: txns[pid].amount for pid in ids} == {
        pid: 1_000 * (i + 1) for i, pid in enumerate(ids)}
    assert all(t.net == t.amount - t.fee and t.fee > 0 for t in txns.values())
    assert check(db) == []
