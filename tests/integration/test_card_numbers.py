"""Issue 10 item 10: a card number is refused wherever a merchant can put text (description,
metadata, customer, tokens), not only inside ``payment_method``, so it is never stored,
echoed or forwarded to a provider."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shared.payments.models import Payment
from tests.factories import create_payment

GOOD = {"amount": 1000, "currency": "INR",
        "payment_method": {"type": "card", "token": "tok_success"}}
CARD = "4242 4242 4242 4242"


@pytest.mark.parametrize("patch,param", [
    ({"description": f"paid with {CARD} thanks"}, "description"),
    ({"description": "4111-1111-1111-1111"}, "description"),
    ({"metadata": {"note": f"card {CARD.replace(' ', '')}"}}, "metadata.note"),
    ({"customer": {"name": f"A {CARD}"}}, "customer.name"),
    ({"payment_method": {"type": "card", "token": "4000056655665556"}},
     "payment_method"),
])
def test_card_numbers_are_refused_in_any_field(client, merchant, db, patch, param):
    response = client.post("/api/v1/payments", headers=merchant["headers"],
                           json={**GOOD, **patch})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert (error["code"], error["param"]) == ("raw_card_data_not_allowed", param)
    assert "4242 4242" not in response.get_data(as_text=True)
    assert "4242424242424242" not in response.get_data(as_text=True)
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Payment)) == 0


def test_card_numbers_are_refused_on_update_refund_and_order(client, merchant):
    payment_id = create_payment(client, merchant["headers"])["id"]
    for method, path, body in (
            ("patch", f"/api/v1/payments/{payment_id}", {"description": CARD}),
            ("patch", f"/api/v1/payments/{payment_id}", {"metadata": {"x": CARD}}),
            ("post", "/api/v1/refunds", {"payment_id": payment_id, "reason": CARD}),
            ("post", "/api/v1/orders", {"amount": 1000, "currency": "INR",
                                         "receipt": CARD})):
        response = getattr(client, method)(path, headers=merchant["headers"], json=body)
        assert response.status_code == 400, (path, response.get_data(as_text=True))
        assert response.get_json()["error"]["code"] == "raw_card_data_not_allowed"
    assert client.get(f"/api/v1/payments/{payment_id}",
                      headers=merchant["headers"]).get_json()["description"] is None


def test_numbers_that_are_not_cards_pass(client, merchant):
    body = {**GOOD, "description": "order 1234567890123 (not Luhn-valid: 4242424242424241)",
            "metadata": {"phone": "+14155550123", "invoice": "2026-12-01-0042",
                         # a hex signature whose digit run passes Luhn: part of an identifier
                         "signature": "9f4242424242424242e1c0ffee", "ref": "tok4111111111111111"}}
    assert client.post("/api/v1/payments", headers=merchant["headers"],
                       json=body).status_code == 201
