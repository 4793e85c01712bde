"""POST/GET/DELETE /api/v1/risk/blocklist and /api/v1/risk/settings: audited, validated,
per merchant."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from shared.audit.models import AuditLog
from shared.risk.models import BlocklistEntry

URL = "/api/v1/risk/blocklist"


def add(client, merchant, kind="email", value="fraud@example.com"):
    return client.post(URL, headers=merchant["owner_headers"], json={"type": kind, "value": value})


def test_add_list_get_and_delete_with_audit_rows(client, merchant, db):
    created = add(client, merchant, value="Fraud@Example.com")
    assert created.status_code == 201
    entry = created.get_json()
    assert entry["id"].startswith("bl_") and entry["object"] == "blocklist_entry"
    assert (entry["type"], entry["value"]) == ("email", "fraud@example.com")
    add(client, merchant, "ip", "203.0.113.5")

    listed = client.get(URL, headers=merchant["owner_headers"]).get_json()
    assert [e["type"] for e in listed["data"]] == ["ip", "email"] and not listed["has_more"]
    only_email = client.get(URL + "?type=email", headers=merchant["owner_headers"]).get_json()
    assert [e["id"] for e in only_email["data"]] == [entry["id"]]
    page = client.get(URL + "?limit=1", headers=merchant["owner_headers"]).get_json()
    assert page["has_more"] and len(page["data"]) == 1
    assert client.get(f"{URL}/{entry['id']}", headers=merchant["owner_headers"]).get_json() == entry

    deleted = client.delete(f"{URL}/{entry['id']}", headers=merchant["owner_headers"])
    assert deleted.status_code == 200 and deleted.get_json()["deleted"] is True
    assert client.get(f"{URL}/{entry['id']}", headers=merchant["owner_headers"]).status_code == 404
    with db.transaction() as session:
        actions = [(a.action, a.object_id, a.actor_type) for a in session.scalars(
            select(AuditLog).where(AuditLog.object_type == "blocklist_entry")
            .order_by(AuditLog.id))]
    # Risk rules are an owner's or admin's (the roles table): the actor is the signed-in user.
    assert actions[0] == ("risk.blocklist.added", entry["id"], "user")
    assert actions[-1] == ("risk.blocklist.removed", entry["id"], "user")
    assert len(actions) == 3


def test_the_same_value_twice_is_a_conflict(client, merchant, db):
    assert add(client, merchant).status_code == 201
    again = add(client, merchant, value="FRAUD@example.com")
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "already_blocklisted"
    with db.transaction() as session:
        assert len(session.scalars(select(BlocklistEntry)).all()) == 1


def test_another_merchants_entries_do_not_exist(client, make_merchant):
    acme, other = make_merchant("Acme"), make_merchant("Other")
    entry = add(client, acme).get_json()
    for response in (client.get(f"{URL}/{entry['id']}", headers=other["owner_headers"]),
                     client.delete(f"{URL}/{entry['id']}", headers=other["owner_headers"])):
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "resource_missing"
    assert client.get(URL, headers=other["owner_headers"]).get_json()["data"] == []
    assert client.get(f"{URL}/{entry['id']}", headers=acme["owner_headers"]).status_code == 200


@pytest.mark.parametrize("body,param", [
    ({"value": "a@example.com"}, "type"),
    ({"type": "email"}, "value"),
    ({"type": "phone", "value": "x"}, "type"),
    ({"type": "email", "value": "not-an-email"}, "value"),
    ({"type": "ip", "value": "999.1.1.1"}, "value"),
    ({"type": "vpa", "value": "no-at-sign"}, "value"),
    ({"type": "email", "value": 42}, "value"),
    ({"type": ["email"], "value": "a@example.com"}, "type"),
    ({"type": "card_token", "value": "t" * 10_000}, "value"),
    ({"type": "email", "value": "a@example.com", "extra": 1}, "extra"),
])
def test_bad_blocklist_input_is_a_clear_400_and_changes_nothing(client, merchant, db, body,
                                                                param):
    response = client.post(URL, headers=merchant["owner_headers"], json=body)
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    with db.transaction() as session:
        assert session.scalars(select(BlocklistEntry)).all() == []


def test_malformed_json_and_wrong_content_type(client, merchant):
    bad_json = client.post(URL, headers={**merchant["owner_headers"],
                                         "Content-Type": "application/json"}, data="{nope")
    assert bad_json.status_code == 400
    assert bad_json.get_json()["error"]["code"] == "invalid_json"
    form = client.post(URL, headers=merchant["owner_headers"], data={"type": "email"})
    assert form.status_code == 415


def test_needs_a_merchant_key(client, operator):
    assert client.get(URL).status_code == 401
    assert client.get(URL, headers=operator["headers"]).status_code == 403


@pytest.mark.parametrize("limits,param", [
    ({"inr": 100}, "amount_limits"),
    ({"INR": 1.5}, "amount_limits"),
    ({"INR": "100"}, "amount_limits"),
    ({"INR": True}, "amount_limits"),
    ({"INR": 10**30}, "amount_limits"),
    ("INR", "amount_limits"),
])
def test_bad_amount_limits_are_refused(client, merchant, limits, param):
    response = client.patch("/api/v1/risk/settings", headers=merchant["owner_headers"],
                            json={"amount_limits": limits})
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"]["param"].startswith(param)
    got = client.get("/api/v1/risk/settings", headers=merchant["owner_headers"]).get_json()
    assert got["amount_limits"] == {}


def test_customer_ip_is_validated_on_payments(client, merchant):
    response = client.post("/api/v1/payments", headers=merchant["headers"], json={
        "amount": 100, "currency": "INR", "customer": {"ip": "not an ip"},
        "payment_method": {"type": "card", "token": "tok_success"}})
    assert response.status_code == 400
    assert response.get_json()["error"]["param"] == "customer.ip"


def test_api_keys_and_viewers_may_not_manage_risk_rules(client, merchant):
    """The roles table: risk rules belong to owners and admins, not API keys."""
    for response in (client.get(URL, headers=merchant["headers"]),
                     client.post(URL, headers=merchant["headers"],
                                 json={"type": "email", "value": "x@example.com"}),
                     client.patch("/api/v1/risk/settings", headers=merchant["headers"],
                                  json={"amount_limits": {"INR": 100}})):
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "insufficient_role"
