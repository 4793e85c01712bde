"""The webhook endpoints, events and webhook logs API: shapes, validation (wrong types,
missing fields, huge values, bad JSON, wrong content type), and another merchant's ids."""
from __future__ import annotations

import base64
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from shared.db import utcnow
from shared.events.service import record_event
from shared.webhooks.models import Event, WebhookEndpoint, WebhookLog
from tests.factories import create_webhook_endpoint
from tests.integration.test_foundation import assert_error

URL = "http://127.0.0.1:9/hooks"


def create(client, merchant, **body):
    return create_webhook_endpoint(client, merchant["headers"], **{"url": URL, **body})


def parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def endpoint_count(db) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(WebhookEndpoint))


def test_create_shows_the_secret_once(client, merchant):
    body = create(client, merchant, description="orders system", metadata={"team": "ops"})
    assert body["id"].startswith("we_") and body["object"] == "webhook_endpoint"
    assert body["status"] == "enabled" and body["events"] == ["payment.completed"]
    assert body["metadata"] == {"team": "ops"} and body["description"] == "orders system"
    assert body["secret"].startswith("whsec_")
    assert len(base64.b64decode(body["secret"][len("whsec_"):])) >= 24
    fetched = client.get(f"/api/v1/webhook_endpoints/{body['id']}", headers=merchant["headers"])
    assert fetched.status_code == 200
    assert "secret" not in fetched.get_json()
    listed = client.get("/api/v1/webhook_endpoints", headers=merchant["headers"]).get_json()
    assert [e["id"] for e in listed["data"]] == [body["id"]]
    assert "secret" not in listed["data"][0]


def test_secrets_differ_per_endpoint(client, merchant):
    assert create(client, merchant)["secret"] != create(client, merchant)["secret"]


def test_create_is_idempotent(client, merchant, db):
    headers = {**merchant["headers"], "Idempotency-Key": "we-1"}
    body = {"url": URL, "events": ["*"]}
    first = client.post("/api/v1/webhook_endpoints", headers=headers, json=body)
    second = client.post("/api/v1/webhook_endpoints", headers=headers, json=body)
    assert first.status_code == second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert first.get_json() == second.get_json()
    assert endpoint_count(db) == 1


def test_patch_changes_url_events_and_status(client, merchant):
    endpoint = create(client, merchant)
    path = f"/api/v1/webhook_endpoints/{endpoint['id']}"
    response = client.patch(path, headers=merchant["headers"], json={
        "url": "http://localhost:8080/new", "events": ["refund.failed", "refund.failed",
                                                      "order.paid"], "status": "disabled"})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["url"] == "http://localhost:8080/new"
    assert body["events"] == ["refund.failed", "order.paid"]
    assert body["status"] == "disabled" and body["disabled_reason"]
    body = client.patch(path, headers=merchant["headers"], json={"status": "enabled"}).get_json()
    assert body["status"] == "enabled" and body["disabled_reason"] is None
    assert "secret" not in body


def test_delete_hides_the_endpoint_and_wipes_its_secret(client, merchant, db):
    endpoint = create(client, merchant)
    path = f"/api/v1/webhook_endpoints/{endpoint['id']}"
    response = client.delete(path, headers=merchant["headers"])
    assert response.status_code == 200
    assert response.get_json() == {"id": endpoint["id"], "object": "webhook_endpoint",
                                   "deleted": True}
    assert_error(client.get(path, headers=merchant["headers"]), 404, "resource_missing")
    assert_error(client.delete(path, headers=merchant["headers"]), 404)
    listed = client.get("/api/v1/webhook_endpoints", headers=merchant["headers"]).get_json()
    assert listed["data"] == []
    with db.transaction() as session:
        assert endpoint["secret"] not in (session.get(WebhookEndpoint, endpoint["id"]).secret,)


def test_rotate_secret_keeps_the_old_one_signing_for_the_overlap(client, merchant, config):
    endpoint = create(client, merchant)
    response = client.post(f"/api/v1/webhook_endpoints/{endpoint['id']}/rotate_secret",
                           headers=merchant["headers"])
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["secret"].startswith("whsec_") and body["secret"] != endpoint["secret"]
    expires = parse(body["previous_secret_expires_at"])
    expected = utcnow() + timedelta(seconds=config.webhook_rotation_overlap_s)
    assert abs((expires - expected).total_seconds()) < 60


def test_list_endpoints_pages_newest_first(client, merchant):
    ids = [create(client, merchant)["id"] for _ in range(3)]
    page = client.get("/api/v1/webhook_endpoints?limit=2", headers=merchant["headers"]).get_json()
    assert [e["id"] for e in page["data"]] == ids[::-1][:2] and page["has_more"]
    rest = client.get(f"/api/v1/webhook_endpoints?limit=2&starting_after={ids[1]}",
                      headers=merchant["headers"]).get_json()
    assert [e["id"] for e in rest["data"]] == [ids[0]] and not rest["has_more"]


@pytest.mark.parametrize("body,param,code", [
    ({"events": ["*"]}, "url", "parameter_missing"),
    ({"url": URL}, "events", "parameter_missing"),
    ({"url": 5, "events": ["*"]}, "url", "parameter_invalid"),
    ({"url": None, "events": ["*"]}, "url", "parameter_invalid"),
    ({"url": ["http://x"], "events": ["*"]}, "url", "parameter_invalid"),
    ({"url": "http://x/" + "a" * 3000, "events": ["*"]}, "url", None),
    ({"url": "ftp://example.com/hooks", "events": ["*"]}, "url", "url_invalid"),
    ({"url": "not a url", "events": ["*"]}, "url", "url_invalid"),
    ({"url": "http://user:pw@example.com/", "events": ["*"]}, "url", "url_invalid"),
    ({"url": "http:///nohost", "events": ["*"]}, "url", "url_invalid"),
    ({"url": URL, "events": "payment.completed"}, "events", "parameter_invalid"),
    ({"url": URL, "events": []}, "events", "parameter_invalid"),
    ({"url": URL, "events": ["payment.exploded"]}, "events.0", "parameter_invalid"),
    ({"url": URL, "events": [5]}, "events.0", "parameter_invalid"),
    ({"url": URL, "events": ["*", "payment.completed"]}, "events", "invalid_request"),
    ({"url": URL, "events": ["payment.completed"] * 10_000}, "events", "parameter_invalid"),
    ({"url": URL, "events": ["*"], "description": "d" * 501}, "description",
     "parameter_invalid"),
    ({"url": URL, "events": ["*"], "description": 7}, "description", "parameter_invalid"),
    ({"url": URL, "events": ["*"], "metadata": {"k": "v" * 501}}, "metadata",
     "parameter_invalid"),
    ({"url": URL, "events": ["*"], "secret": "whsec_mine"}, "secret", "parameter_unknown"),
    ({"url": URL, "events": ["*"], "status": "disabled"}, "status", "parameter_unknown"),
])
def test_create_rejects_bad_input(client, merchant, db, body, param, code):
    response = client.post("/api/v1/webhook_endpoints", headers=merchant["headers"], json=body)
    assert_error(response, 400, code, param)
    assert endpoint_count(db) == 0


def test_create_rejects_a_body_that_is_not_an_object(client, merchant, db):
    for body in ([], "x", 5):
        response = client.post("/api/v1/webhook_endpoints", headers=merchant["headers"],
                               json=body)
        assert_error(response, 400)
    assert endpoint_count(db) == 0


@pytest.mark.parametrize("method,suffix", [
    ("post", ""), ("patch", "/{id}"), ("post", "/{id}/rotate_secret"), ("post", "/{id}/test"),
])
def test_malformed_json_and_wrong_content_type(client, merchant, db, method, suffix):
    endpoint = create(client, merchant)
    path = "/api/v1/webhook_endpoints" + suffix.format(id=endpoint["id"])
    send = getattr(client, method)
    assert_error(send(path, headers=merchant["headers"], data="{nope",
                      content_type="application/json"), 400, "invalid_json")
    assert_error(send(path, headers=merchant["headers"], data="url=http://x",
                      content_type="application/x-www-form-urlencoded"), 415)
    assert endpoint_count(db) == 1


@pytest.mark.parametrize("body,param", [
    ({"status": "paused"}, "status"),
    ({"status": 1}, "status"),
    ({"events": []}, "events"),
    ({"url": "gopher://x"}, "url"),
    ({"url": ""}, "url"),
    ({"id": "we_other"}, "id"),
])
def test_patch_rejects_bad_input_and_changes_nothing(client, merchant, body, param):
    endpoint = create(client, merchant)
    path = f"/api/v1/webhook_endpoints/{endpoint['id']}"
    assert_error(client.patch(path, headers=merchant["headers"], json=body), 400, param=param)
    after = client.get(path, headers=merchant["headers"]).get_json()
    assert after["url"] == endpoint["url"] and after["status"] == "enabled"
    assert after["events"] == endpoint["events"]


def test_actions_refuse_unknown_parameters(client, merchant):
    endpoint = create(client, merchant)
    response = client.post(f"/api/v1/webhook_endpoints/{endpoint['id']}/rotate_secret",
                           headers=merchant["headers"], json={"secret": "whsec_mine"})
    assert_error(response, 400, "parameter_unknown", "secret")


def test_a_merchant_may_not_add_endpoints_without_bound(client, merchant):
    from shared.webhooks.service import MAX_ENDPOINTS_PER_MERCHANT
    for _ in range(MAX_ENDPOINTS_PER_MERCHANT):
        create(client, merchant)
    response = client.post("/api/v1/webhook_endpoints", headers=merchant["headers"],
                           json={"url": URL, "events": ["*"]})
    assert_error(response, 400, "endpoint_limit_reached")


@pytest.mark.parametrize("url", [
    "http://example.com/hooks",          # http
    "https://127.0.0.1/hooks",           # loopback
    "https://[::1]/hooks",
    "https://localhost/hooks",
    "https://10.1.2.3/hooks",            # private
    "https://192.168.0.10/hooks",
    "https://172.16.5.4/hooks",
    "https://169.254.169.254/latest/meta-data",   # link-local, cloud metadata
    "https://100.100.100.200/hooks",
    "https://[fd00:ec2::254]/hooks",
    "https://[::ffff:127.0.0.1]/hooks",
    "https://0.0.0.0/hooks",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://sneaky.example/hooks",      # resolves to a private address
])
def test_production_refuses_unsafe_urls(config, db, make_merchant, url, monkeypatch):
    from api import create_app
    from shared.webhooks import url_policy
    monkeypatch.setattr(url_policy, "resolve", lambda host, port: {
        "sneaky.example": ["10.0.0.7"], "public.example": ["93.184.216.34"]}.get(
        host, [host.strip("[]")]))
    app = create_app(config.with_overrides(env="production"), db=db,
                     publish=lambda *args: None)
    client = app.test_client()
    merchant = make_merchant()
    response = client.post("/api/v1/webhook_endpoints", headers=merchant["headers"],
                           json={"url": url, "events": ["*"]})
    assert_error(response, 400, "url_invalid", "url")
    ok = client.post("/api/v1/webhook_endpoints", headers=merchant["headers"],
                     json={"url": "https://public.example/hooks", "events": ["*"]})
    assert ok.status_code == 201, ok.get_data(as_text=True)
    patched = client.patch(f"/api/v1/webhook_endpoints/{ok.get_json()['id']}",
                           headers=merchant["headers"], json={"url": url})
    assert_error(patched, 400, "url_invalid", "url")


def test_development_allows_http_and_localhost(client, merchant):
    for url in ("http://localhost:3000/hooks", "http://127.0.0.1:8080/x?y=1",
                "https://10.0.0.1/hooks"):
        assert create(client, merchant, url=url)["url"] == url


def test_test_sends_a_ping_to_that_endpoint_only(client, merchant, db, published):
    target = create(client, merchant, events=["*"])
    other = create(client, merchant, events=["*"])
    response = client.post(f"/api/v1/webhook_endpoints/{target['id']}/test",
                           headers=merchant["headers"])
    assert response.status_code == 201, response.get_data(as_text=True)
    attempt = response.get_json()
    assert attempt["object"] == "webhook_log" and attempt["status"] == "pending"
    assert attempt["endpoint_id"] == target["id"] and attempt["attempt"] == 1
    event = client.get(f"/api/v1/events/{attempt['event_id']}",
                       headers=merchant["headers"]).get_json()
    assert event["type"] == "ping" and event["data"]["object"]["id"] == target["id"]
    assert "secret" not in event["data"]["object"]
    assert ("gateway.deliver_webhook", [attempt["id"]], "webhooks") in published
    assert not any(task == "gateway.fan_out_event" for task, _, _ in published)
    with db.transaction() as session:
        endpoints = set(session.scalars(select(WebhookLog.endpoint_id)))
    assert endpoints == {target["id"]} and other["id"] not in endpoints


def test_test_on_a_disabled_endpoint_is_a_conflict(client, merchant):
    endpoint = create(client, merchant)
    client.patch(f"/api/v1/webhook_endpoints/{endpoint['id']}", headers=merchant["headers"],
                 json={"status": "disabled"})
    assert_error(client.post(f"/api/v1/webhook_endpoints/{endpoint['id']}/test",
                             headers=merchant["headers"]), 409, "endpoint_disabled")


def _event(db, merchant_id, event_type="payment.completed", object_id="pay_x1"):
    with db.transaction() as session:
        event = record_event(session, merchant_id, event_type, {"id": object_id})
    return event.id


def test_events_list_and_filter_by_type(client, merchant, db):
    first = _event(db, merchant["merchant_id"], "payment.created")
    second = _event(db, merchant["merchant_id"], "payment.completed")
    listed = client.get("/api/v1/events", headers=merchant["headers"]).get_json()
    assert [e["id"] for e in listed["data"]] == [second, first]
    assert listed["data"][0]["object"] == "event"
    assert listed["data"][0]["data"] == {"object": {"id": "pay_x1"}}
    only = client.get("/api/v1/events?type=payment.created", headers=merchant["headers"])
    assert [e["id"] for e in only.get_json()["data"]] == [first]
    one = client.get(f"/api/v1/events/{first}", headers=merchant["headers"]).get_json()
    assert one["type"] == "payment.created"


@pytest.mark.parametrize("query,param", [
    ("type=payment.exploded", "type"), ("limit=0", "limit"), ("limit=101", "limit"),
    ("limit=abc", "limit"), ("starting_after=" + "x" * 100, "starting_after"),
])
def test_events_list_rejects_bad_filters(client, merchant, query, param):
    assert_error(client.get(f"/api/v1/events?{query}", headers=merchant["headers"]), 400,
                 param=param)


@pytest.mark.parametrize("query,param", [
    ("status=lost", "status"), ("event_id=pay_1", "event_id"), ("endpoint_id=evt_1",
                                                                 "endpoint_id"),
])
def test_webhook_logs_reject_bad_filters(client, merchant, query, param):
    assert_error(client.get(f"/api/v1/webhook_logs?{query}", headers=merchant["headers"]), 400,
                 param=param)


def test_webhook_logs_filter_by_event_endpoint_and_status(client, merchant, db):
    a = create(client, merchant, events=["*"])
    b = create(client, merchant, events=["payment.completed"])
    created = _event(db, merchant["merchant_id"], "payment.created")
    completed = _event(db, merchant["merchant_id"], "payment.completed")
    # Attempt 1 of each delivery was written with the event itself.
    with db.transaction() as session:
        logs = session.scalars(select(WebhookLog.event_id)).all()
    assert sorted(logs) == sorted([created, completed, completed])
    h = merchant["headers"]

    def ids(query):
        response = client.get(f"/api/v1/webhook_logs?{query}", headers=h)
        assert response.status_code == 200, response.get_data(as_text=True)
        return [(r["event_id"], r["endpoint_id"]) for r in response.get_json()["data"]]

    assert sorted(ids(f"event_id={completed}")) == sorted([(completed, a["id"]),
                                                           (completed, b["id"])])
    assert ids(f"endpoint_id={b['id']}") == [(completed, b["id"])]
    assert len(ids("status=pending")) == 3 and ids("status=dead") == []
    log = client.get("/api/v1/webhook_logs?limit=1", headers=h).get_json()["data"][0]
    assert log["object"] == "webhook_log" and log["id"].startswith("whl_")
    assert client.get(f"/api/v1/webhook_logs/{log['id']}", headers=h).get_json() == log


def test_retry_of_a_delivery_in_flight_is_a_conflict(client, merchant, db):
    create(client, merchant, events=["*"])
    _event(db, merchant["merchant_id"])
    log = client.get("/api/v1/webhook_logs", headers=merchant["headers"]).get_json()["data"][0]
    assert_error(client.post(f"/api/v1/webhook_logs/{log['id']}/retry",
                             headers=merchant["headers"]), 409, "delivery_in_progress")


def test_another_merchants_ids_are_404(client, make_merchant, db):
    owner, intruder = make_merchant("Owner"), make_merchant("Intruder")
    endpoint = create(client, owner, events=["*"])
    event_id = _event(db, owner["merchant_id"])
    log = client.get("/api/v1/webhook_logs", headers=owner["headers"]).get_json()["data"][0]
    h = intruder["headers"]
    we = f"/api/v1/webhook_endpoints/{endpoint['id']}"
    checks = [
        client.get(we, headers=h),
        client.patch(we, headers=h, json={"status": "disabled"}),
        client.delete(we, headers=h),
        client.post(f"{we}/rotate_secret", headers=h),
        client.post(f"{we}/test", headers=h),
        client.get(f"/api/v1/events/{event_id}", headers=h),
        client.get(f"/api/v1/webhook_logs/{log['id']}", headers=h),
        client.post(f"/api/v1/webhook_logs/{log['id']}/retry", headers=h),
        client.get("/api/v1/webhook_endpoints/we_doesnotexist", headers=h),
    ]
    for response in checks:
        assert_error(response, 404, "resource_missing")
    for path in ("/api/v1/webhook_endpoints", "/api/v1/events",
                 f"/api/v1/webhook_logs?endpoint_id={endpoint['id']}",
                 f"/api/v1/webhook_logs?event_id={event_id}"):
        assert client.get(path, headers=h).get_json()["data"] == [], path
    owner_view = client.get(we, headers=owner["headers"]).get_json()
    assert owner_view["status"] == "enabled"
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 1
        assert session.scalar(select(func.count()).select_from(WebhookLog)) == 1
