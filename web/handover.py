"""Handing the customer over to a provider's own checkout, from the payment's ``next_action``
(what the worker got back from the provider): a redirect (PhonePe's pay page, Stripe's 3-D
Secure), Razorpay's hosted checkout (a form POST carrying the order), Cashfree's checkout
(opened by Cashfree's own script with the payment session), or a UPI collect request the
customer approves in their UPI app."""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from shared.checkout.service import CustomerView
from shared.config import Config
from shared.payments.states import PaymentStatus

CASHFREE_SDK = "https://sdk.cashfree.com/js/v3/cashfree.js"


@dataclass(frozen=True)
class Handover:
    kind: str                      # redirect | form | cashfree | approve
    provider: str
    url: str | None = None         # redirect target or form action
    fields: dict = field(default_factory=dict)

    @property
    def origin(self) -> str | None:
        if not self.url:
            return None
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"


def _web_url(url) -> str | None:
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def handover_for(view: CustomerView, config: Config, page_url: str) -> Handover | None:
    payment = view.payment
    if payment is None or payment.status != PaymentStatus.PROCESSING or not payment.next_action:
        return None
    action, provider = payment.next_action, payment.provider
    kind = action.get("type")
    if kind == "redirect":
        url = _web_url(action.get("url"))
        return Handover("redirect", provider, url) if url else None
    if kind == "upi_collect":
        return Handover("approve", provider, fields={"vpa": action.get("vpa") or ""})
    if kind == "razorpay_checkout":
        base = config.providers.razorpay_base_url.rstrip("/")
        return Handover("form", provider, f"{base}/checkout/embedded", fields={
            "key_id": action.get("key_id", ""), "order_id": action.get("order_id", ""),
            "amount": str(action.get("amount", payment.amount)),
            "currency": action.get("currency", payment.currency),
            "name": view.merchant_name, "description": view.session.description or "",
            "callback_url": f"{page_url}/razorpay", "cancel_url": page_url})
    if kind == "cashfree_checkout":
        sandbox = "sandbox" in config.providers.cashfree_base_url
        return Handover("cashfree", provider, CASHFREE_SDK, fields={
            "payment_session_id": action.get("payment_session_id", ""),
            "mode": "sandbox" if sandbox else "production"})
    return None
