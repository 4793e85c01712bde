"""Promise 5: bad input gets a clear 4xx in the error shape, with the right param, and changes
nothing. Every create endpoint: wrong types, missing fields, huge values, raw card data."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shared.orders.models import Order
from shared.outbox import OutboxMessage
from shared.payments.models import Payment
from shared.webhooks.models import Event

CARD = {"type": "card", "token": "tok_success"}
GOOD = {"amount": 1000, "currency": "INR", "payment_method": CARD}


def nothing_written(db):
    with db.transaction() as session:
        return all(session.scalar(select(func.count()).select_from(m)) == 0
                   for m in (Payment, Event, OutboxMessage, Order))


def post(client, merchant, path, body):
    return client.post(path, headers=merchant["headers"], json=body)


@pytest.mark.parametrize("patch,param,code", [
    ({"amount": "1000"}, "amount", "parameter_invalid"),
    ({"amount": 10.5}, "amount", "parameter_invalid"),
    ({"amount": 1000.0}, "amount", "parameter_invalid"),
    ({"amount": True}, "amount", "parameter_invalid"),
    ({"amount": 0}, "amount", "parameter_invalid"),
    ({"amount": -5}, "amount", "parameter_invalid"),
    ({"amount": 10**12 + 1}, "amount", "parameter_invalid"),
    ({"amount": 10**30}, "amount", "parameter_invalid"),
    ({"amount": None}, "amount", "parameter_invalid"),
    ({"currency": "inr"}, "currency", "parameter_invalid"),
    ({"currency": "XYZ"}, "currency", "parameter_invalid"),
    ({"currency": "XAU"}, "currency", "parameter_invalid"),
    ({"currency": 356}, "currency", "parameter_invalid"),
    ({"payment_method": "card"}, "payment_method", "parameter_invalid"),
    ({"payment_method": {"type": "crypto"}}, "payment_method.type", "parameter_invalid"),
    ({"payment_method": {"type": "card"}}, "payment_method.token", "parameter_invalid"),
    ({"payment_method": {"type": "upi", "vpa": "not-a-vpa"}}, "payment_method.vpa",
     "parameter_invalid"),
    ({"payment_method": {"type": "upi"}}, "payment_method.vpa", "parameter_invalid"),
    ({"payment_method": {"type": "netbanking"}}, "payment_method.bank", "parameter_invalid"),
    ({"customer": {"email": "nope"}}, "customer.email", "parameter_invalid"),
    ({"customer": {"phone": "12345"}}, "customer.phone", "parameter_invalid"),
    ({"customer": {"phone": "+91 98765"}}, "customer.phone", "parameter_invalid"),
    ({"metadata": {f"k{i}": "v" for i in range(21)}}, "metadata", "parameter_invalid"),
    ({"metadata": {"k": "v" * 501}}, "metadata", "parameter_invalid"),
    ({"metadata": {"k": 5}}, "metadata", "parameter_invalid"),
    ({"metadata": ["a"]}, "metadata", "parameter_invalid"),
    ({"description": "d" * 1001}, "description", "parameter_invalid"),
    ({"provider": "paypal"}, "provider", "parameter_invalid"),
    ({"order_id": "pay_123"}, "order_id", "parameter_invalid"),
    ({"surprise": 1}, "surprise", "parameter_unknown"),
])
def test_payment_rejects_bad_fields(client, merchant, db, patch, param, code):
    response = post(client, merchant, "/api/v1/payments", {**GOOD, **patch})
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert (error["param"], error["code"]) == (param, code)
    assert error["type"] == "invalid_request_error" and error["message"]
    assert nothing_written(db)


@pytest.mark.parametrize("missing", ["amount", "currency", "payment_method"])
def test_payment_missing_required_field(client, merchant, db, missing):
    body = {k: v for k, v in GOOD.items() if k != missing}
    error = post(client, merchant, "/api/v1/payments", body).get_json()["error"]
    assert (error["param"], error["code"]) == (missing, "parameter_missing")
    assert nothing_written(db)


@pytest.mark.parametrize("body", [[], "text", 42, None])
def test_payment_body_must_be_an_object(client, merchant, db, body):
    response = client.post("/api/v1/payments", headers=merchant["headers"],
                           data=__import__("json").dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert nothing_written(db)


@pytest.mark.parametrize("method", [
    {"type": "card", "number": "4242424242424242", "token": "tok_success"},
    {"type": "card", "token": "4111 1111 1111 1111"},
    {"type": "card", "token": "tok_success", "extra": {"pan": "5555555555554444"}},
    {"type": "wallet", "wallet": "378282246310005"},
])
def test_raw_card_numbers_are_refused_and_never_echoed(client, merchant, db, method, caplog):
    response = post(client, merchant, "/api/v1/payments", {**GOOD, "payment_method": method})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "raw_card_data_not_allowed"
    assert error["param"] == "payment_method"
    text = response.get_data(as_text=True)
    for digits in ("4242424242424242", "4111", "5555555555554444", "378282246310005"):
        assert digits not in text
        assert all(digits not in r.getMessage() for r in caplog.records)
    assert nothing_written(db)


def test_luhn_invalid_digit_strings_are_not_mistaken_for_cards(client, merchant):
    method = {"type": "wallet", "wallet": "1234567890123"}  # 13 digits, fails Luhn
    assert post(client, merchant, "/api/v1/payments",
                {**GOOD, "payment_method": method}).status_code == 201


@pytest.mark.parametrize("phone", ["+14155550123", "+919876543210", "9876543210", "09876543210"])
def test_valid_phone_numbers_are_accepted(client, merchant, phone):
    body = {**GOOD, "customer": {"email": "a@example.com", "phone": phone, "name": "A"}}
    assert post(client, merchant, "/api/v1/payments", body).status_code == 201


@pytest.mark.parametrize("currency,amount", [("JPY", 500), ("KWD", 1234), ("USD", 1)])
def test_currencies_from_iso_data(client, merchant, currency, amount):
    body = {**GOOD, "currency": currency, "amount": amount}
    response = post(client, merchant, "/api/v1/payments", body)
    assert response.status_code == 201
    assert response.get_json()["currency"] == currency


@pytest.mark.parametrize("patch,param", [
    ({"amount": "100"}, "amount"), ({"amount": 0}, "amount"), ({"currency": "ABC"}, "currency"),
    ({"receipt": "r" * 41}, "receipt"), ({"notes": {"a": 1}}, "notes"), ({"x": 1}, "x"),
])
def test_order_rejects_bad_fields(client, merchant, db, patch, param):
    response = post(client, merchant, "/api/v1/orders", {"amount": 100, "currency": "INR", **patch})
    assert response.status_code == 400
    assert response.get_json()["error"]["param"] == param
    assert nothing_written(db)


@pytest.mark.parametrize("body,param", [
    ({}, "payment_id"), ({"payment_id": 5}, "payment_id"), ({"payment_id": "ord_x"}, "payment_id"),
    ({"payment_id": "pay_x", "amount": "5"}, "amount"),
    ({"payment_id": "pay_x", "amount": 10**13}, "amount"),
    ({"payment_id": "pay_x", "reason": "r" * 501}, "reason"),
])
def test_refund_rejects_bad_fields(client, merchant, body, param):
    response = post(client, merchant, "/api/v1/refunds", body)
    assert response.status_code == 400
    assert response.get_json()["error"]["param"] == param


@pytest.mark.parametrize("query,param", [
    ("limit=0", "limit"), ("limit=101", "limit"), ("limit=abc", "limit"),
    ("status=weird", "status"), ("created[gte]=yesterday", "created[gte]"),
])
def test_list_rejects_bad_query(client, merchant, query, param):
    response = client.get(f"/api/v1/payments?{query}", headers=merchant["headers"])
    assert response.status_code == 400
    assert response.get_json()["error"]["param"] == param


@pytest.mark.parametrize("path", ["/api/v1/payments", "/api/v1/orders", "/api/v1/refunds"])
def test_every_create_endpoint_wants_json(client, merchant, path):
    wrong_type = client.post(path, headers=merchant["headers"], data="a=1",
                             content_type="application/x-www-form-urlencoded")
    malformed = client.post(path, headers=merchant["headers"], data="{",
                            content_type="application/json")
    assert wrong_type.status_code == 415
    assert malformed.status_code == 400
    assert malformed.get_json()["error"]["code"] == "invalid_json"


def test_patch_rejects_other_transitions_with_409(client, merchant, db):
    pid = post(client, merchant, "/api/v1/payments", GOOD).get_json()["id"]
    response = client.patch(f"/api/v1/payments/{pid}", headers=merchant["headers"],
                            json={"status": "completed"})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "payment_state_conflict"
    bad = client.patch(f"/api/v1/payments/{pid}", headers=merchant["headers"],
                       json={"status": 5})
    assert bad.status_code == 400
