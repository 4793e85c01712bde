"""Payouts: ``pending -> paid | failed``, never more than the available balance.

Creating one locks the merchant's available account row (accounts are always locked in id
order, see ``journal``) and checks the balance under that lock, so two payouts asked for at
once cannot together exceed it. The amount moves from available to in transit at once; the
``process_payout`` job asks the bank (the sandbox bank in test mode): paid moves it out of the
ledger to the merchant's bank, failed gives it back to available. Events ``payout.paid`` and
``payout.failed`` go out through the events and webhooks machinery.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared import jobs, outbox
from shared.db import utcnow
from shared.errors import InvalidRequest
from shared.events.service import record_event
from shared.ids import new_id
from shared.ledger import accounts as chart
from shared.ledger import sandbox_bank, settings
from shared.ledger.journal import Entry, Line, Posting
from shared.ledger.models import BalanceTransaction, LedgerAccount, Payout
from shared.ledger.representation import payout_object
from shared.ledger.states import PAYOUT_TRANSITIONS, BalanceTransactionStatus, PayoutStatus
from shared.money import is_payable_currency
from shared.ownership import get_owned
from shared.pagination import Page, keyset_page


def create_payout(session: Session, merchant_id: str, data: dict, *, livemode: bool = False,
                  method: str = "manual", schedule_key: str | None = None) -> Payout | None:
    """A payout of ``data["amount"]`` (or, for the schedule, everything available). Returns
    None when a scheduled payout has nothing to pay or was already made for its slot."""
    currency = data["currency"]
    if not is_payable_currency(currency):
        raise InvalidRequest(f"{currency!r} is not a currency money can be paid in.",
                             code="invalid_currency", param="currency")
    if livemode:
        raise InvalidRequest("Live-mode payouts need a bank connection, and none is "
                             "configured; the sandbox bank serves test mode only.",
                             code="payouts_unavailable")
    posting = Posting(session)
    locked = posting.lock_accounts([(merchant_id, currency, livemode, chart.AVAILABLE),
                                    (merchant_id, currency, livemode, chart.IN_TRANSIT)])
    available = locked[(merchant_id, currency, livemode, chart.AVAILABLE)].balance
    if schedule_key is not None:
        exists = session.scalar(select(Payout.id).where(
            Payout.merchant_id == merchant_id, Payout.currency == currency,
            Payout.livemode == livemode, Payout.schedule_key == schedule_key))
        if exists is not None or available <= 0:
            return None
    amount = data.get("amount", available)
    if amount > available:
        raise InvalidRequest(
            f"Payout of {amount} exceeds the available balance ({available} {currency}).",
            code="balance_insufficient", param="amount")
    now = utcnow()
    payout = Payout(id=new_id("payout"), merchant_id=merchant_id, livemode=livemode,
                    amount=amount, currency=currency, status=PayoutStatus.PENDING, method=method,
                    destination=data.get("destination") or "bank_account",
                    schedule_key=schedule_key, metadata_=data.get("metadata") or {},
                    created_at=now, updated_at=now)
    session.add(payout)
    session.flush()
    posting.add(Entry(merchant_id=merchant_id, currency=currency, livemode=livemode,
                      kind="payout", source_id=payout.id,
                      lines=[Line(chart.AVAILABLE, "debit", amount),
                             Line(chart.IN_TRANSIT, "credit", amount)]))
    posting.flush(locked)
    session.add(BalanceTransaction(
        id=new_id("balance_transaction"), merchant_id=merchant_id, livemode=livemode,
        type="payout", amount=-amount, fee=0, net=-amount, currency=currency,
        source_id=payout.id, payout_id=payout.id, status=BalanceTransactionStatus.AVAILABLE,
        available_on=now, created_at=now))
    outbox.enqueue(session, jobs.PROCESS_PAYOUT, [payout.id])
    return payout


def _move(session: Session, payout: Payout, new_status: str) -> bool:
    if new_status not in PAYOUT_TRANSITIONS[payout.status]:
        return False
    payout.status = new_status
    payout.updated_at = utcnow()
    record_event(session, payout.merchant_id, f"payout.{new_status}", payout_object(payout))
    return True


def process_payout(db, payout_id: str) -> str:
    """The worker's job for one payout. Safe to run any number of times: the payout row is
    locked, the bank remembers the transfer, and each posting is unique per payout."""
    with db.transaction() as session:
        payout = session.get(Payout, payout_id, with_for_update=True)
        if payout is None:
            return "missing"
        if payout.status != PayoutStatus.PENDING:
            return f"already {payout.status}"
        result = sandbox_bank.transfer(session, payout)
        key = dict(merchant_id=payout.merchant_id, currency=payout.currency,
                   livemode=payout.livemode, source_id=payout.id)
        if result.paid:
            Posting(session).add(Entry(
                kind="payout_paid", lines=[Line(chart.IN_TRANSIT, "debit", payout.amount),
                                           Line(chart.PAID_OUT, "credit", payout.amount)],
                totals={"payouts": payout.amount, "payout_count": 1}, **key)).flush()
            payout.arrived_at = utcnow()
            _move(session, payout, PayoutStatus.PAID)
            return PayoutStatus.PAID
        Posting(session).add(Entry(
            kind="payout_failed", lines=[Line(chart.IN_TRANSIT, "debit", payout.amount),
                                         Line(chart.AVAILABLE, "credit", payout.amount)],
            **key)).flush()
        now = utcnow()
        session.add(BalanceTransaction(
            id=new_id("balance_transaction"), merchant_id=payout.merchant_id,
            livemode=payout.livemode, type="adjustment", amount=payout.amount, fee=0,
            net=payout.amount, currency=payout.currency, source_id=payout.id,
            payout_id=payout.id, status=BalanceTransactionStatus.AVAILABLE, available_on=now,
            created_at=now))
        payout.failure_code = result.failure_code
        payout.failure_message = result.failure_message
        _move(session, payout, PayoutStatus.FAILED)
        return PayoutStatus.FAILED


def get_payout(session: Session, merchant_id: str, payout_id: str, *,
               livemode: bool | None = None) -> Payout:
    return get_owned(session, Payout, merchant_id, payout_id, "payout", livemode=livemode)


def list_payouts(session: Session, merchant_id: str, args: dict,
                 livemode: bool = False) -> Page:
    filters = [Payout.livemode == livemode]
    if args.get("status"):
        filters.append(Payout.status == args["status"])
    return keyset_page(session, Payout, merchant_id, filters, args["limit"],
                       args.get("starting_after"))


def daily_payouts(db, now: datetime | None = None) -> int:
    """``PAYOUT_SCHEDULE=daily``: pay out each merchant's whole available balance once per
    UTC day (the day is the payout's ``schedule_key``, so running twice pays once)."""
    if settings.current().payout_schedule != "daily":
        return 0
    now = now or utcnow()
    key = f"daily:{now.date().isoformat()}"
    with db.transaction() as session:
        candidates = session.execute(
            select(LedgerAccount.merchant_id, LedgerAccount.currency)
            .where(LedgerAccount.kind == chart.AVAILABLE, LedgerAccount.livemode.is_(False),
                   LedgerAccount.balance > 0)).all()
    made = 0
    for merchant_id, currency in candidates:
        with db.transaction() as session:
            if create_payout(session, merchant_id, {"currency": currency},
                             method="automatic", schedule_key=key) is not None:
                made += 1
    return made


def requeue_stuck_payouts(db, older_than_s: int, batch: int = 500) -> int:
    """Payouts still pending a while after they were made (their job was lost with the
    broker): publish their job again, and touch them so the next sweep waits a full
    interval before asking again."""
    now = utcnow()
    cutoff = now - timedelta(seconds=older_than_s)
    with db.transaction() as session:
        ids = list(session.scalars(
            select(Payout.id)
            .where(Payout.status == PayoutStatus.PENDING, Payout.updated_at < cutoff)
            .order_by(Payout.updated_at).limit(batch).with_for_update(skip_locked=True)))
        if ids:
            session.execute(update(Payout).where(Payout.id.in_(ids)).values(updated_at=now))
        for payout_id in ids:
            outbox.enqueue(session, jobs.PROCESS_PAYOUT, [payout_id])
        return len(ids)
