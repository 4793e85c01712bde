"""Promise 6: a merchant never sees another merchant's data; their ids are simply 404."""
from __future__ import annotations

import pytest

from tests.factories import completed_payment, create_order, create_refund


@pytest.fixture
def other_merchants_objects(client, make_merchant, db, config):
    owner = make_merchant("Owner")
    order = create_order(client, owner["headers"], amount=700)
    payment = completed_payment(client, owner["headers"], db, config, amount=700,
                                order_id=order["id"])
    refund = create_refund(client, owner["headers"], payment["id"], amount=100)
    return {"order": order["id"], "payment": payment["id"], "refund": refund["id"]}


def test_other_merchants_ids_are_404_everywhere(client, make_merchant, other_merchants_objects):
    ids = other_merchants_objects
    intruder = make_merchant("Intruder")["headers"]
    checks = [
        client.get(f"/api/v1/orders/{ids['order']}", headers=intruder),
        client.get(f"/api/v1/payments/{ids['payment']}", headers=intruder),
        client.patch(f"/api/v1/payments/{ids['payment']}", headers=intruder,
                     json={"metadata": {"x": "y"}}),
        client.get(f"/api/v1/refunds/{ids['refund']}", headers=intruder),
        client.post("/api/v1/refunds", headers=intruder, json={"payment_id": ids["payment"]}),
        client.post("/api/v1/payments", headers=intruder, json={
            "amount": 700, "currency": "INR", "order_id": ids["order"],
            "payment_method": {"type": "card", "token": "tok_success"}}),
    ]
    for response in checks:
        assert response.status_code == 404, response.get_data(as_text=True)
        assert response.get_json()["error"]["code"] == "resource_missing"


def test_lists_show_only_own_objects(client, make_merchant, other_merchants_objects):
    intruder = make_merchant("Intruder")["headers"]
    for path in ("/api/v1/orders", "/api/v1/payments", "/api/v1/refunds",
                 f"/api/v1/payments?order_id={other_merchants_objects['order']}",
                 f"/api/v1/refunds?payment_id={other_merchants_objects['payment']}"):
        body = client.get(path, headers=intruder).get_json()
        assert body == {"object": "list", "data": [], "has_more": False}, path
    # Another merchant's object (or none at all) as a cursor is a 404, never a page.
    for cursor in ("pay_zzzzzzzzzzzzzzzzzzzzzzzzzz", other_merchants_objects["payment"]):
        response = client.get(f"/api/v1/payments?starting_after={cursor}", headers=intruder)
        assert response.status_code == 404
        assert response.get_json()["error"]["param"] == "starting_after"
