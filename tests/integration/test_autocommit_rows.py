"""shared.db.Database.autocommit_rows: one statement on a pooled psycopg connection in
autocommit, without SQLAlchemy's statement machinery (POST /payments' insert)."""
from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError, ProgrammingError

from shared.db import pyformat, utcnow
from shared.providers.calls import record_attempt
from shared.providers.models import TransactionAttempt


def test_pyformat_turns_named_parameters_into_psycopgs_and_escapes_percent():
    assert pyformat("SELECT :a, CAST(:b AS int), 'x%' WHERE y = :a") == \
        "SELECT %(a)s, CAST(%(b)s AS int), 'x%%' WHERE y = %(a)s"


def test_rows_commit_at_once_and_the_connection_goes_back_in_transaction_mode(db):
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert db.autocommit_rows("SELECT 1", {}) == [(1,)]
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert seen == ["SELECT 1"]  # the engine's listeners see it, as any statement
    rows = db.autocommit_rows(pyformat(
        "INSERT INTO outbox (task, args, queue, created_at, publish_attempts) "
        "VALUES (:task, CAST(:args AS jsonb), 'payments', now(), 0) RETURNING task, args"),
        {"task": "gateway.process_payment", "args": '["pay_x"]'})
    assert rows == [("gateway.process_payment", ["pay_x"])]
    with db.engine.connect() as conn:  # another connection sees it: committed
        assert conn.exec_driver_sql("SELECT count(*) FROM outbox").scalar() == 1
    pooled = db.engine.raw_connection()
    try:
        assert pooled.driver_connection.autocommit is False
    finally:
        pooled.close()


def test_a_connection_that_died_fails_its_statement_once_and_leaves_the_pool(db):
    (pid,), = db.autocommit_rows("SELECT pg_backend_pid()", {})
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    failures, pids = 0, []
    for _ in range(db.engine.pool.checkedin() + 2):
        try:
            pids.extend(row[0] for row in db.autocommit_rows("SELECT pg_backend_pid()", {}))
        except OperationalError as exc:  # SQLAlchemy's, as the workers' retries expect
            assert isinstance(exc.orig, psycopg.OperationalError)
            failures += 1
    assert failures == 1 and pids and pid not in pids
    with pytest.raises(ProgrammingError) as raised:  # an ordinary error keeps it pooled
        db.autocommit_rows("SELECT * FROM no_such_table", {})
    assert isinstance(raised.value.orig, psycopg.errors.UndefinedTable)
    assert db.autocommit_rows("SELECT 1", {}) == [(1,)]


def test_a_core_statement_binds_json_and_its_own_literals_as_sqlalchemy_would(db):
    from shared.providers.sandbox import _RECORD
    statement = _RECORD["postgresql"]  # ON CONFLICT ... SET calls = calls + 1 (a literal)
    values = dict(kind="charge", reference="pay_json", amount=10**15, currency="INR",
                  outcome="succeeded", instrument=None, calls=1, created_at=utcnow())
    first, = db.autocommit_execute(statement, values)
    again, = db.autocommit_execute(statement, values)
    assert (first.calls, again.calls, again.amount, again.instrument) == (1, 2, 10**15, None)
    record_attempt(db, merchant_id="mer_x", provider="sandbox", operation="create_payment",
                   outcome="succeeded", payment_id="pay_json",
                   request={"nested": {"list": [1, "two", None]}}, response=None)
    with db.transaction() as session:
        attempt = session.query(TransactionAttempt).filter_by(payment_id="pay_json").one()
        assert (attempt.request, attempt.response) == ({"nested": {"list": [1, "two", None]}},
                                                      None)


def test_bound_sql_computes_the_python_side_defaults_sqlalchemy_would(db):
    from datetime import datetime

    from shared.db import bound_sql
    from shared.payments.locked import _SAVE
    sql, values = bound_sql(db.engine.dialect, _SAVE, {"attempts": 2,
                                                       "locked_payment_id": "pay_x"})
    assert "updated_at=" in sql and isinstance(values["updated_at"], datetime)
    assert (values["attempts"], values["locked_payment_id"]) == (2, "pay_x")
    given = utcnow()
    _, values = bound_sql(db.engine.dialect, _SAVE, {"attempts": 2, "updated_at": given,
                                                     "locked_payment_id": "pay_x"})
    assert values["updated_at"] == given
