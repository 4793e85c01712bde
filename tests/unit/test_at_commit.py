"""shared.db.at_commit: writes that run last in their transaction, or not at all."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from shared.db import Database, at_commit


@pytest.fixture()
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path}/at_commit.db")
    with database.engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield database
    database.dispose()


def rows(db) -> list[int]:
    with db.engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT n FROM t ORDER BY rowid"))]


def insert(session, n: int) -> None:
    session.execute(text("INSERT INTO t (n) VALUES (:n)"), {"n": n})


def test_runs_after_the_rest_of_the_transaction_and_commits_with_it(db):
    with db.transaction() as session:
        at_commit(session, lambda: insert(session, 2))
        insert(session, 1)
    assert rows(db) == [1, 2]


def test_a_write_may_register_another_and_both_run(db):
    with db.transaction() as session:
        at_commit(session, lambda: (insert(session, 1), at_commit(session, lambda: insert(
            session, 2))))
    assert rows(db) == [1, 2]


def test_dropped_with_a_rollback_and_not_carried_into_the_next_transaction(db):
    with pytest.raises(RuntimeError):
        with db.transaction() as session:
            at_commit(session, lambda: insert(session, 1))
            raise RuntimeError("boom")
    session = db.sessionmaker()
    try:
        insert(session, 5)
        session.commit()
        insert(session, 6)
        session.commit()
    finally:
        session.close()
    assert rows(db) == [5, 6]


def test_a_failing_write_rolls_the_whole_transaction_back(db):
    def fail():
        raise ValueError("unbalanced")
    with pytest.raises(ValueError):
        with db.transaction() as session:
            insert(session, 1)
            at_commit(session, fail)
    assert rows(db) == []


def test_kept_when_only_a_savepoint_rolls_back(db):
    with db.transaction() as session:
        at_commit(session, lambda: insert(session, 1))
        with pytest.raises(RuntimeError):
            with session.begin_nested():
                insert(session, 9)
                raise RuntimeError("inner")
    assert rows(db) == [1]
