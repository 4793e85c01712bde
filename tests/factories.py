"""Factories for the objects tests create again and again, through the API as a merchant would.

Each takes a test client and the headers to send (a merchant's ``["headers"]``, an owner's
session, a live-mode key, with an ``Idempotency-Key`` added where a test wants one), builds a
sensible default body that keyword arguments override (``None`` drops a field), asserts the
answer's HTTP status and returns its JSON. A test that checks the POST itself (bad input,
validation, idempotency answers) keeps its explicit request instead."""
from __future__ import annotations

CARD = {"type": "card", "token": "tok_success"}
UPI = {"type": "upi", "vpa": "success@sandbox"}
WEBHOOK_URL = "http://127.0.0.1:9/hooks"
SUCCESS_URL = "https://shop.example/thanks?cs={CHECKOUT_SESSION_ID}"
CANCEL_URL = "https://shop.example/cart"


def _post(client, path: str, headers: dict, body: dict, status: int) -> dict:
    body = {k: v for k, v in body.items() if v is not None}
    response = client.post(path, headers=headers, json=body)
    assert response.status_code == status, (path, response.status_code,
                                            response.get_data(as_text=True))
    return response.get_json()


def payment_body(*, token: str = "tok_success", **overrides) -> dict:
    """A payment request: 10000 paise by card; ``token`` picks the sandbox card's outcome."""
    return {"amount": 10_000, "currency": "INR",
            "payment_method": {"type": "card", "token": token}, **overrides}


def create_payment(client, headers: dict, *, status: int = 201, **overrides) -> dict:
    """POST /api/v1/payments; the payment answers ``pending`` until a worker processes it."""
    return _post(client, "/api/v1/payments", headers, payment_body(**overrides), status)


def completed_payment(client, headers: dict, db, config, **overrides) -> dict:
    """A payment created through the API and processed in-process by the sandbox to
    ``completed``; returns the payment as the API shows it afterwards."""
    from shared.payments.processing import process_payment
    created = create_payment(client, headers, **overrides)
    assert process_payment(db, config, created["id"]) == "completed"
    return client.get(f"/api/v1/payments/{created['id']}", headers=headers).get_json()


def create_order(client, headers: dict, *, status: int = 201, **overrides) -> dict:
    """POST /api/v1/orders: 10000 paise, the default payment's amount."""
    return _post(client, "/api/v1/orders", headers,
                 {"amount": 10_000, "currency": "INR", **overrides}, status)


def create_refund(client, headers: dict, payment_id: str, *, status: int = 201,
                  **overrides) -> dict:
    """POST /api/v1/refunds; without ``amount`` it refunds what is left of the payment."""
    return _post(client, "/api/v1/refunds", headers,
                 {"payment_id": payment_id, **overrides}, status)


def create_webhook_endpoint(client, headers: dict, *, status: int = 201, **overrides) -> dict:
    """POST /api/v1/webhook_endpoints: a closed local port subscribed to payment.completed."""
    return _post(client, "/api/v1/webhook_endpoints", headers,
                 {"url": WEBHOOK_URL, "events": ["payment.completed"], **overrides}, status)


def create_checkout_session(client, headers: dict, *, status: int = 201, **overrides) -> dict:
    """POST /api/v1/checkout_sessions: 49900 paise with the shop's return URLs."""
    return _post(client, "/api/v1/checkout_sessions", headers,
                 {"amount": 49_900, "currency": "INR", "success_url": SUCCESS_URL,
                  "cancel_url": CANCEL_URL, "description": "Two notebooks", **overrides},
                 status)
