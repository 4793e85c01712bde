"""Read-modify-writes under concurrency, on PostgreSQL (row locks) and on SQLite (no row
locks: BEGIN IMMEDIATE and atomic increments). Each test runs on both databases."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text

from shared.db import Database
from shared.models import Base
from shared.payments.models import Payment
from shared.payments.processing import process_payment
from shared.providers.models import SandboxCharge
from shared.refunds.models import Refund
from shared.refunds.processing import process_refund
from shared.webhooks.models import Event
from tests.factories import create_payment, create_refund


@pytest.fixture(scope="module")
def sqlite_database(tmp_path_factory):
    from shared.migrate import upgrade
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite')}/gateway.db"
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def any_db(request, db, sqlite_database):
    if request.param == "postgresql":
        yield db
        return
    sqlite_database.outbox_relay = None
    yield sqlite_database
    with sqlite_database.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(text(f"DELETE FROM {table.name}"))


@pytest.fixture
def any_app(config, any_db):
    from api import create_app
    app = create_app(config, db=any_db, publish=lambda *a: None)
    app.testing = True
    return app


@pytest.fixture
def acme(any_db):
    from shared.merchants.credentials import create_merchant
    with any_db.transaction() as session:
        _merchant, key = create_merchant(session, "Acme")
    return {"Authorization": f"Bearer {key.api_key}"}


def _pay(app, headers, amount, db, config, **extra):
    return create_payment(app.test_client(), {**headers, **extra}, amount=amount)["id"]


def _count(db, model, *where):
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_parallel_refund_jobs_add_up_exactly(any_app, acme, any_db, config):
    """The issue's case: three parallel 10000 refunds of a 30000 payment end ``refunded``."""
    app = any_app
    pid = _pay(app, acme, 30_000, any_db, config)
    assert process_payment(any_db, config, pid) == "completed"
    client = app.test_client()
    ids = [create_refund(client, acme, pid, amount=10_000)["id"] for _ in range(3)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        outcomes = list(pool.map(lambda rid: process_refund(any_db, config, rid), ids))
    assert outcomes == ["completed"] * 3
    with any_db.transaction() as session:
        payment = session.get(Payment, pid)
        assert (payment.status, payment.amount_refunded, payment.amount_refund_reserved) == \
            ("refunded", 30_000, 30_000)
    assert _count(any_db, Event, Event.type == "payment.refunded") == 3


def test_parallel_refund_requests_never_reserve_more_than_paid(any_app, acme,
                                                               any_db, config):
    app = any_app
    pid = _pay(app, acme, 10_000, any_db, config)
    assert process_payment(any_db, config, pid) == "completed"

    def send(_):
        with app.test_client() as c:
            return c.post("/api/v1/refunds", headers=acme,
                          json={"payment_id": pid, "amount": 3000}).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(send, range(10)))
    assert sorted(statuses) == [201] * 3 + [400] * 7, statuses
    assert _count(any_db, Refund, Refund.payment_id == pid) == 3
    with any_db.transaction() as session:
        assert session.get(Payment, pid).amount_refund_reserved == 9000


def test_parallel_identical_posts_under_one_key_make_one_payment(any_app, acme,
                                                                 any_db, config):
    app = any_app

    def send(_):
        with app.test_client() as c:
            r = c.post("/api/v1/payments", headers={**acme, "Idempotency-Key": "same"},
                       json={"amount": 700, "currency": "INR",
                             "payment_method": {"type": "card", "token": "tok_success"}})
            return r.status_code, (r.get_json() or {}).get("id")

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(send, range(10)))
    assert {s for s, _ in results} <= {201, 409}, results
    assert len({pid for s, pid in results if s == 201}) == 1
    assert _count(any_db, Payment) == 1
    assert _count(any_db, Event, Event.type == "payment.created") == 1


def test_parallel_status_moves_charge_once(any_app, acme, any_db, config):
    app = any_app
    pid = _pay(app, acme, 4200, any_db, config)
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(lambda _: process_payment(any_db, config, pid), range(4)))
    assert "completed" in outcomes
    with any_db.transaction() as session:
        assert session.get(Payment, pid).status == "completed"
    assert _count(any_db, SandboxCharge, SandboxCharge.reference == pid) == 1
    assert _count(any_db, Event, Event.type == "payment.completed") == 1
