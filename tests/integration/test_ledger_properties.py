"""Proof that the money adds up: random interleavings of payments (succeeding and failing),
partial and full refunds (some failing), releases, payouts (some failing at the bank) and
duplicate job deliveries, run concurrently against the real PostgreSQL. After every step each
entry balances and, for every merchant and currency, available + pending + in transit =
completed payments - completed refunds - fees - paid payouts (``shared.reporting.check``)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from shared.db import utcnow
from shared.errors import InvalidRequest
from shared.ledger import balance, payouts
from shared.ledger.models import LedgerAccount, Payout, SandboxBankTransfer
from shared.merchants.credentials import create_merchant
from shared.models import Base
from shared.payments import service as payment_service
from shared.payments.models import Payment
from shared.payments.processing import process_payment
from shared.providers.models import SandboxCharge
from shared.refunds import service as refund_service
from shared.refunds.processing import process_refund
from shared.reporting.check import check

TOKENS = ["tok_success", "tok_success", "tok_decline", "tok_refund_fail"]
CURRENCIES = ["INR", "JPY"]

pay_op = st.tuples(st.just("pay"), st.integers(0, 1), st.integers(1, 50_000),
                   st.sampled_from(TOKENS), st.sampled_from(CURRENCIES))
refund_op = st.tuples(st.just("refund"), st.integers(0, 50), st.sampled_from([None, 1, 2, 3]))
release_op = st.tuples(st.just("release"))
payout_op = st.tuples(st.just("payout"), st.integers(0, 1), st.sampled_from(CURRENCIES),
                      st.integers(1, 40_000), st.booleans())
operation = st.one_of(pay_op, pay_op, refund_op, release_op, payout_op)
steps = st.lists(st.lists(operation, min_size=1, max_size=4), min_size=2, max_size=5)


def _twice(fn, *args):
    """A duplicate delivery: the same job twice at once."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda _: fn(*args), range(2)))


class World:
    def __init__(self, db, config) -> None:
        self.db, self.config = db, config
        with db.transaction() as session:
            self.merchants = [create_merchant(session, f"M{i}")[0].id for i in range(2)]
        self.payments: list[str] = []
        self.later = utcnow() + timedelta(days=3)

    def run(self, op) -> None:
        getattr(self, op[0])(*op[1:])

    def pay(self, who, amount, token, currency):
        with self.db.transaction() as session:
            payment = payment_service.create_payment(
                session, self.config, self.merchants[who],
                {"amount": amount, "currency": currency,
                 "payment_method": {"type": "card", "token": token}})
            payment_id = payment.id
        self.payments.append(payment_id)
        _twice(process_payment, self.db, self.config, payment_id)

    def refund(self, pick, part):
        if not self.payments:
            return
        payment_id = self.payments[pick % len(self.payments)]
        with self.db.transaction() as session:
            payment = session.get(Payment, payment_id)
            merchant_id, left = payment.merchant_id, payment.amount - payment.amount_refund_reserved
        data = {"payment_id": payment_id}
        if part is not None and left > 1:
            data["amount"] = max(1, left // (part + 1))
        try:
            with self.db.transaction() as session:
                refund_id = refund_service.create_refund(session, merchant_id, data).id
        except InvalidRequest:
            return  # not refundable (failed, pending, nothing left): refused, nothing changed
        _twice(process_refund, self.db, self.config, refund_id)

    def release(self):
        _twice(balance.release_available, self.db, self.later)

    def payout(self, who, currency, amount, fail):
        data = {"amount": amount, "currency": currency,
                "destination": "bank_account_closed" if fail else "bank_account"}

        def create(_):
            try:
                with self.db.transaction() as session:
                    return payouts.create_payout(session, self.merchants[who], data).id
            except InvalidRequest:
                return None
        with ThreadPoolExecutor(max_workers=2) as pool:  # two payouts asked for at once
            made = [p for p in pool.map(create, range(2)) if p]
        for payout_id in made:
            _twice(payouts.process_payout, self.db, payout_id)


def _overdrawn(db) -> list:
    """Payouts only take what is available, so only refunds (taken from available, as they
    complete) can ever push available below zero: available >= -(completed refunds)."""
    with db.transaction() as session:
        return session.execute(text(
            """SELECT a.merchant_id, a.currency, a.balance, coalesce(r.total, 0)
               FROM ledger_accounts a LEFT JOIN (
                   SELECT merchant_id, currency, sum(amount) AS total FROM refunds
                   WHERE status = 'completed' GROUP BY 1, 2) r USING (merchant_id, currency)
               WHERE a.kind = 'available' AND a.balance < -coalesce(r.total, 0)""")).all()


def _truncate(db) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@settings(max_examples=20, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps)
def test_the_ledger_balances_after_every_step_of_any_interleaving(db, config, plan):
    _truncate(db)
    world = World(db, config)
    for step in plan:
        with ThreadPoolExecutor(max_workers=len(step)) as pool:
            for future in [pool.submit(world.run, op) for op in step]:
                future.result()
        assert check(db) == [], (step, check(db))
        assert _overdrawn(db) == [], step
    with db.transaction() as session:
        # Nothing is in transit below zero; the bank paid each payout once, however often
        # its job ran.
        in_transit = session.scalar(select(func.coalesce(func.min(LedgerAccount.balance), 0))
                                    .where(LedgerAccount.kind == "payouts_in_transit"))
        assert in_transit >= 0
        assert session.scalar(select(func.count()).select_from(SandboxBankTransfer)) == \
            session.scalar(select(func.count()).select_from(Payout))
        assert session.scalar(select(func.coalesce(func.max(SandboxBankTransfer.calls), 1))) \
            == 1
        # The provider may be asked twice by a duplicate job, but charges or refunds once.
        assert session.scalar(select(func.count()).select_from(SandboxCharge)) == \
            session.scalar(select(func.count(func.distinct(SandboxCharge.reference))))


def test_payouts_racing_a_refund_never_take_more_than_available(db, config):
    """Concurrent payouts of everything available with refunds landing at the same time."""
    _truncate(db)
    world = World(db, config)
    for _ in range(4):
        world.pay(0, 10_000, "tok_success", "INR")
    world.release()
    mid = world.merchants[0]

    def payout_all(_):
        try:
            with db.transaction() as session:
                return payouts.create_payout(session, mid, {"amount": 19_600,
                                                            "currency": "INR"}).id
        except InvalidRequest:
            return None

    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(payout_all, i) for i in range(4)]
        futures += [pool.submit(world.refund, i, None) for i in range(2)]
        made = [f.result() for f in futures[:4]]
        for f in futures[4:]:
            f.result()
    assert sum(1 for p in made if p) == 2  # 39,200 available: two payouts of 19,600
    assert check(db) == []
