"""The API representation of a checkout session (``GET /checkout_sessions/{id}``)."""
from __future__ import annotations

from shared.checkout.models import CheckoutSession
from shared.checkout.service import session_status
from shared.payments.models import Payment
from shared.representation import iso


def checkout_url(public_base_url: str, session_id: str) -> str:
    return f"{public_base_url.rstrip('/')}/pay/{session_id}"


def checkout_session_object(cs: CheckoutSession, payment: Payment | None,
                            public_base_url: str) -> dict:
    return {"id": cs.id, "object": "checkout_session",
            "url": checkout_url(public_base_url, cs.id),
            "status": session_status(cs, payment), "payment_id": cs.payment_id,
            "payment_status": payment.status if payment else None,
            "amount": cs.amount, "currency": cs.currency, "order_id": cs.order_id,
            "provider": cs.provider, "success_url": cs.success_url,
            "cancel_url": cs.cancel_url, "customer": cs.customer,
            "description": cs.description, "metadata": cs.metadata_ or {},
            "attempts": cs.attempts, "livemode": cs.livemode,
            "expires_at": iso(cs.expires_at),
            "created_at": iso(cs.created_at)}
