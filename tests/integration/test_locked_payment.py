"""shared.payments.locked: the worker's Core read and write of a locked payment."""
from __future__ import annotations

from sqlalchemy import event

from shared.payments.locked import LockedPayment
from shared.payments.models import Payment
from tests.factories import create_payment


def test_save_writes_only_what_changed_and_nothing_when_unchanged(client, merchant, db):
    pid = create_payment(client, merchant["headers"])["id"]
    updates: list[str] = []

    def seen(_conn, _cursor, statement, *_):
        if statement.startswith("UPDATE payments"):
            updates.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
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
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert len(updates) == 1
    assert "attempts" in updates[0] and "risk" in updates[0] and "status" not in updates[0]
    with db.transaction() as session:
        row = session.get(Payment, pid)
        assert (row.attempts, row.risk, row.status) == (1, {"decision": "allow", "rules": []},
                                                        "pending")
