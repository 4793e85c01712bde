"""Checkout sessions: created by a merchant's server, paid by its customer on ``/pay/{cs_id}``.

Paying goes through ``shared.payments.service.create_payment``, the very service behind
``POST /payments``, so every payment rule (provider availability, order amount and currency,
an order paid once) holds on the hosted page too. A session is paid at most once: the new
payment and a compare-and-set of the session's ``payment_id`` (from the previous attempt,
which must have failed, to the new one) commit in one transaction. Two tabs paying at once
both write a payment, but only one compare-and-set matches; the other transaction rolls
back with its payment and outbox message, so nothing of it ever reaches a worker.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from shared.checkout.models import CheckoutSession
from shared.checkout.states import CheckoutSessionStatus
from shared.config import Config
from shared.db import utcnow
from shared.errors import Conflict, InvalidRequest, NotFound
from shared.ids import new_id
from shared.merchants.livemode import choose_provider
from shared.merchants.models import Merchant
from shared.orders import service as order_service
from shared.orders.states import OrderStatus
from shared.ownership import get_owned
from shared.pagination import Page, keyset_page
from shared.payments import service as payment_service
from shared.payments.models import Payment
from shared.payments.states import CAPTURED, PaymentStatus
from shared.providers.registry import require_available

MAX_URL_LENGTH = 2048
PAID_STATUSES = frozenset(CAPTURED)
# the customer may try again
RETRYABLE_STATUSES = frozenset({PaymentStatus.FAILED, PaymentStatus.CANCELED})
SESSION_ID_PLACEHOLDER = "{CHECKOUT_SESSION_ID}"


def check_return_url(config: Config, url: str, param: str) -> str:
    """Where the customer is sent back: an absolute http(s) URL; https only in production."""
    allowed = ("https",) if config.is_production else ("http", "https")
    try:
        parts = urlsplit(url)
        valid = parts.scheme in allowed and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        valid = False
    if len(url) > MAX_URL_LENGTH or not valid or not url.isprintable():
        schemes = " or ".join(allowed)
        raise InvalidRequest(f"{param} must be an absolute {schemes} URL of at most "
                             f"{MAX_URL_LENGTH} characters.", code="url_invalid", param=param)
    return url


def create_session(session: Session, config: Config, merchant_id: str,
                   data: dict) -> CheckoutSession:
    """``data["livemode"]``: the caller's mode, which the session and its payments take."""
    livemode = bool(data.get("livemode"))
    success_url = check_return_url(config, data["success_url"], "success_url")
    cancel_url = check_return_url(config, data["cancel_url"], "cancel_url")
    provider = choose_provider(config, data.get("provider"), livemode)
    require_available(provider, config)
    order_id = data.get("order_id")
    amount, currency = data.get("amount"), data.get("currency")
    if order_id:
        order = order_service.get_order(session, merchant_id, order_id, param="order_id",
                                        livemode=livemode)
        if order.status == OrderStatus.PAID:
            raise InvalidRequest("This order is already paid.", code="order_already_paid",
                                 param="order_id")
        if amount is not None and amount != order.amount:
            raise InvalidRequest("amount must equal the order's amount.",
                                 code="amount_mismatch", param="amount")
        if currency is not None and currency != order.currency:
            raise InvalidRequest("currency must equal the order's currency.",
                                 code="currency_mismatch", param="currency")
        amount, currency = order.amount, order.currency
    elif amount is None or currency is None:
        raise InvalidRequest("Give either order_id, or amount and currency.",
                             code="parameter_missing",
                             param="currency" if amount is not None else "amount")
    now = utcnow()
    checkout = CheckoutSession(
        id=new_id("checkout_session"), merchant_id=merchant_id, order_id=order_id,
        amount=amount, currency=currency, provider=provider,
        success_url=success_url, cancel_url=cancel_url,
        customer=data.get("customer"), description=data.get("description"),
        metadata_=data.get("metadata") or {}, payment_id=None, attempts=0, livemode=livemode,
        expires_at=now + timedelta(seconds=config.checkout_expiry_s),
        created_at=now, updated_at=now)
    session.add(checkout)
    return checkout


def get_session(session: Session, merchant_id: str, session_id: str, *,
                livemode: bool | None = None) -> CheckoutSession:
    return get_owned(session, CheckoutSession, merchant_id, session_id, "checkout session",
                     livemode=livemode)


def list_sessions(session: Session, merchant_id: str, args: dict) -> Page:
    filters = []
    if args.get("livemode") is not None:
        filters.append(CheckoutSession.livemode == args["livemode"])
    return keyset_page(session, CheckoutSession, merchant_id, filters, args["limit"],
                       args.get("starting_after"))


def session_status(checkout: CheckoutSession, payment: Payment | None,
                   now: datetime | None = None) -> str:
    """``complete`` once its payment completed; ``expired`` past ``expires_at`` unless a
    payment is still under way (it may yet complete); else ``open``."""
    if payment is not None and payment.status in PAID_STATUSES:
        return CheckoutSessionStatus.COMPLETE
    in_flight = payment is not None and payment.status not in RETRYABLE_STATUSES
    if not in_flight and (now or utcnow()) >= checkout.expires_at:
        return CheckoutSessionStatus.EXPIRED
    return CheckoutSessionStatus.OPEN


def payments_of(session: Session, sessions: list[CheckoutSession]) -> dict[str, Payment]:
    ids = [cs.payment_id for cs in sessions if cs.payment_id]
    if not ids:
        return {}
    return {p.id: p for p in session.scalars(select(Payment).where(Payment.id.in_(ids)))}


@dataclass(frozen=True)
class CustomerView:
    """What the customer's page shows: never the merchant's metadata or another id."""
    session: CheckoutSession
    merchant_name: str
    status: str                      # open | complete | expired
    payment: Payment | None

    @property
    def payment_status(self) -> str | None:
        return self.payment.status if self.payment else None

    @property
    def success_redirect(self) -> str:
        return self.session.success_url.replace(SESSION_ID_PLACEHOLDER, self.session.id)

    @property
    def cancel_redirect(self) -> str:
        return self.session.cancel_url.replace(SESSION_ID_PLACEHOLDER, self.session.id)

    @property
    def can_pay(self) -> bool:
        return self.status == CheckoutSessionStatus.OPEN and (
            self.payment is None or self.payment.status in RETRYABLE_STATUSES)


def customer_view(session: Session, session_id: str) -> CustomerView:
    """The session as its customer sees it, by id alone (the page has no credentials: the
    unguessable ``cs_`` id is what the merchant hands its customer)."""
    checkout = session.get(CheckoutSession, session_id)
    if checkout is None:
        raise NotFound(f"No such checkout session: {session_id!r}.")
    payment = session.get(Payment, checkout.payment_id) if checkout.payment_id else None
    merchant = session.get(Merchant, checkout.merchant_id)
    return CustomerView(session=checkout, merchant_name=merchant.name if merchant else "",
                        status=session_status(checkout, payment), payment=payment)


def pay(session: Session, config: Config, session_id: str, payment_method: dict) -> Payment:
    """The customer pays: one new payment through the API's own service, attached to the
    session by compare-and-set in the caller's transaction. ``payment_method`` has been
    validated by the same schema as ``POST /payments``."""
    view = customer_view(session, session_id)
    checkout = view.session
    if view.status == CheckoutSessionStatus.COMPLETE:
        raise Conflict("This checkout session is already paid.",
                       code="checkout_session_paid")
    if view.status == CheckoutSessionStatus.EXPIRED:
        raise Conflict("This checkout session has expired.", code="checkout_session_expired")
    if not view.can_pay:
        raise Conflict("A payment for this checkout session is already under way.",
                       code="checkout_session_in_progress")
    previous = checkout.payment_id
    data = {"amount": checkout.amount, "currency": checkout.currency,
            "provider": checkout.provider, "payment_method": payment_method,
            "description": checkout.description, "livemode": checkout.livemode}
    if checkout.order_id:
        data["order_id"] = checkout.order_id
    if checkout.customer:
        data["customer"] = checkout.customer
    payment = payment_service.create_payment(session, config, checkout.merchant_id, data)
    session.flush()
    now = utcnow()
    swapped: CursorResult = session.execute(  # type: ignore[assignment]
        update(CheckoutSession)
        .where(CheckoutSession.id == checkout.id,
               CheckoutSession.payment_id.is_not_distinct_from(previous),
               CheckoutSession.expires_at > now)
        .values(payment_id=payment.id, attempts=CheckoutSession.attempts + 1,
                updated_at=now)
        .execution_options(synchronize_session=False))
    if swapped.rowcount != 1:
        # Another tab got there first (or the session just expired): this transaction,
        # and the payment it wrote, roll back.
        raise Conflict("A payment for this checkout session is already under way.",
                       code="checkout_session_in_progress")
    session.expire(checkout)
    return payment


def session_for_payment(session: Session, payment_id: str) -> CheckoutSession | None:
    return session.scalars(select(CheckoutSession).where(
        CheckoutSession.payment_id == payment_id)).first()
