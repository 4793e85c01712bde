"""GET/PATCH /api/v1/notification_settings and GET /api/v1/notifications: validated, per
merchant, changing nothing on bad input."""
from __future__ import annotations

import pytest

from shared.notifications import triggers

URL = "/api/v1/notification_settings"


def test_settings_round_trip(client, merchant):
    body = client.patch(URL, headers=merchant["owner_headers"], json={
        "customer_email_receipts": True, "alert_phone": "+919876543210"}).get_json()
    assert body["customer_email_receipts"] is True and body["alert_phone"] == "+919876543210"
    assert body["customer_sms_receipts"] is False and body["merchant_email_alerts"] is True
    again = client.patch(URL, headers=merchant["owner_headers"], json={"alert_phone": None})
    assert again.get_json()["alert_phone"] is None
    assert client.get(URL, headers=merchant["owner_headers"]).get_json()["customer_email_receipts"]


@pytest.mark.parametrize("body,param", [
    ({"customer_email_receipts": "yes"}, "customer_email_receipts"),
    ({"customer_email_receipts": 1}, "customer_email_receipts"),
    ({"merchant_email_alerts": None}, "merchant_email_alerts"),
    ({"alert_phone": "12345"}, "alert_phone"),
    ({"alert_phone": "+1" + "9" * 5000}, "alert_phone"),
    ({"alert_phone": 14155550123}, "alert_phone"),
    ({"unknown": True}, "unknown"),
])
def test_bad_settings_are_a_clear_400_and_change_nothing(client, merchant, body, param):
    response = client.patch(URL, headers=merchant["owner_headers"], json=body)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"]["param"] == param
    assert client.get(URL, headers=merchant["owner_headers"]).get_json() == {
        "object": "notification_settings", "merchant_id": merchant["merchant_id"],
        "customer_email_receipts": False, "customer_sms_receipts": False,
        "merchant_email_alerts": True, "alert_phone": None}


def test_malformed_json_wrong_content_type_and_no_key(client, merchant):
    bad = client.patch(URL, data="{", headers={**merchant["owner_headers"],
                                              "Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_json"
    assert client.patch(URL, headers=merchant["owner_headers"], data="x=1").status_code == 415
    assert client.get(URL).status_code == 401


def test_notifications_of_another_merchant_do_not_exist(client, make_merchant, db):
    acme, other = make_merchant("Acme"), make_merchant("Other")
    client.patch(URL, headers=acme["owner_headers"], json={"alert_phone": "+14155550100"})
    with db.transaction() as session:
        triggers.payout_finished(session, acme["merchant_id"], "po_9", "paid", 100, "INR")
    mine = client.get("/api/v1/notifications", headers=acme["headers"]).get_json()["data"]
    assert sorted((n["kind"], n["channel"], n["status"]) for n in mine) == [
        ("payout.paid", "email", "pending"), ("payout.paid", "sms", "pending")]
    nid = mine[0]["id"]
    assert client.get(f"/api/v1/notifications/{nid}", headers=acme["headers"]).status_code == 200
    missing = client.get(f"/api/v1/notifications/{nid}", headers=other["headers"])
    assert missing.status_code == 404
    assert client.get("/api/v1/notifications", headers=other["headers"]).get_json()["data"] == []
    assert client.get("/api/v1/notifications?status=nope",
                      headers=acme["headers"]).status_code == 400
