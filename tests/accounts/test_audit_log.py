"""SPEC "Audit log": every change appends exactly one row with the right actor, nothing
secret is in it, and owners and admins read it with filters."""
from __future__ import annotations

import json

from sqlalchemy import select, update

from shared.audit.models import AuditLog
from shared.payments.processing import process_payment
from shared.webhooks.models import WebhookLog
from tests.accounts.conftest import PASSWORD, bearer


def _rows(db) -> list[AuditLog]:
    with db.transaction() as s:
        return list(s.scalars(select(AuditLog).order_by(AuditLog.id)).all())


class Trail:
    """Counts audit rows around one change."""

    def __init__(self, db):
        self.db = db
        self.seen = len(_rows(db))

    def one(self, action: str, actor_type: str, actor_id: str | None) -> AuditLog:
        rows = _rows(self.db)
        new = rows[self.seen:]
        self.seen = len(rows)
        assert len(new) == 1, [(r.action, r.actor_type) for r in new]
        row = new[0]
        assert (row.action, row.actor_type, row.actor_id) == (action, actor_type, actor_id), \
            (row.action, row.actor_type, row.actor_id)
        return row

    def none(self) -> None:
        rows = _rows(self.db)
        assert len(rows) == self.seen, [r.action for r in rows[self.seen:]]


def test_every_change_leaves_exactly_one_row_with_its_actor(client, db, config, register):
    trail = Trail(db)
    owner = register()
    uid = owner["user"]["id"]
    reg = trail.one("merchant.register", "user", uid)
    assert reg.request_id and reg.ip == "127.0.0.1"

    key = client.post("/api/v1/api_keys", headers=owner["headers"], json={}).get_json()
    trail.one("api_key.create", "user", uid)
    api = bearer(key["secret"])

    def as_key(method, path, body=None, action=None, status=(200, 201)):
        r = client.open(path, method=method, headers=api, json=body)
        assert r.status_code in status, r.get_data(as_text=True)
        row = trail.one(action, "api_key", key["id"])
        return r.get_json(), row

    order, _ = as_key("POST", "/api/v1/orders", {"amount": 500, "currency": "INR"},
                      "order.create")
    payment, row = as_key("POST", "/api/v1/payments", {
        "amount": 500, "currency": "INR", "order_id": order["id"],
        "payment_method": {"type": "card", "token": "tok_success"}}, "payment.create")
    assert row.object_id == payment["id"] and row.object_type == "payment"
    as_key("PATCH", f"/api/v1/payments/{payment['id']}", {"metadata": {"a": "b"}},
           "payment.update")
    process_payment(db, config, payment["id"])
    trail.seen = len(_rows(db))  # the worker's processing is not an API change
    as_key("POST", "/api/v1/refunds", {"payment_id": payment["id"], "amount": 100},
           "refund.create")
    # deliveries are only queued here (the app's publisher is a capture), never sent
    endpoint, _ = as_key("POST", "/api/v1/webhook_endpoints",
                         {"url": "http://127.0.0.1:9/hooks", "events": ["*"]},
                         "webhook_endpoint.create")
    as_key("PATCH", f"/api/v1/webhook_endpoints/{endpoint['id']}", {"description": "d"},
           "webhook_endpoint.update")
    as_key("POST", f"/api/v1/webhook_endpoints/{endpoint['id']}/rotate_secret", None,
           "webhook_endpoint.rotate_secret")
    log, _ = as_key("POST", f"/api/v1/webhook_endpoints/{endpoint['id']}/test", None,
                    "webhook_endpoint.test")
    with db.transaction() as s:  # as if the attempt had been sent and failed
        s.execute(update(WebhookLog).where(WebhookLog.id == log["id"])
                  .values(status="failed"))
    as_key("POST", f"/api/v1/webhook_logs/{log['id']}/retry", None, "webhook_log.retry")
    as_key("DELETE", f"/api/v1/webhook_endpoints/{endpoint['id']}", None,
           "webhook_endpoint.delete")

    # Idempotent replays and refused requests change nothing, and write nothing.
    for _ in range(2):
        client.post("/api/v1/orders", headers={**api, "Idempotency-Key": "k1"},
                    json={"amount": 700, "currency": "INR"})
    trail.one("order.create", "api_key", key["id"])
    assert client.post("/api/v1/orders", headers=api, json={"amount": "x"}).status_code == 400
    trail.none()

    # Users and sessions
    user = client.post("/api/v1/users", headers=owner["headers"], json={
        "email": "dev@example.com", "name": "Dev", "role": "developer",
        "password": PASSWORD}).get_json()
    trail.one("user.create", "user", uid)
    client.patch(f"/api/v1/users/{user['id']}", headers=owner["headers"],
                 json={"role": "viewer"})
    trail.one("user.update", "user", uid)
    bad = client.post("/api/v1/auth/login", json={"email": "dev@example.com",
                                                  "password": "wrong password!"})
    assert bad.status_code == 401
    trail.one("user.login_failed", "user", user["id"])
    client.post("/api/v1/auth/login", json={"email": "nobody@example.com",
                                            "password": "wrong password!"})
    trail.one("user.login_failed", "user", None)
    dev = client.post("/api/v1/auth/login", json={"email": "dev@example.com",
                                                  "password": PASSWORD}).get_json()
    trail.one("user.login", "user", user["id"])
    refreshed = client.post("/api/v1/auth/refresh",
                            json={"refresh_token": dev["refresh_token"]}).get_json()
    trail.one("session.refresh", "user", user["id"])
    client.post("/api/v1/auth/refresh", json={"refresh_token": dev["refresh_token"]})
    trail.one("session.refresh_reused", "user", user["id"])
    again = client.post("/api/v1/auth/login", json={"email": "dev@example.com",
                                                    "password": PASSWORD}).get_json()
    trail.one("user.login", "user", user["id"])
    client.post("/api/v1/me/password", headers=bearer(again["access_token"]), json={
        "current_password": PASSWORD, "new_password": "another long passphrase"})
    trail.one("user.password_change", "user", user["id"])
    last = client.post("/api/v1/auth/login", json={
        "email": "dev@example.com", "password": "another long passphrase"}).get_json()
    trail.one("user.login", "user", user["id"])
    client.post("/api/v1/auth/logout", headers=bearer(last["access_token"]))
    trail.one("user.logout", "user", user["id"])
    client.delete(f"/api/v1/api_keys/{key['id']}", headers=owner["headers"])
    trail.one("api_key.revoke", "user", uid)

    # Nothing secret in any row
    dump = json.dumps([{c.name: str(getattr(r, c.name)) for c in AuditLog.__table__.columns}
                       for r in _rows(db)])
    for secret in (PASSWORD, "another long passphrase", "wrong password!", key["secret"],
                   endpoint["secret"], owner["refresh_token"], owner["access_token"],
                   refreshed["refresh_token"], dev["access_token"]):
        assert secret not in dump


def test_cli_operator_commands_leave_one_row_each(base_env, db):
    from tests.integration.test_operator_cli import gateway
    trail = Trail(db)
    merchant = json.loads(gateway(base_env, "create-merchant", "--name", "M", "--json").stdout)
    trail.one("merchant.create", "operator", "cli")
    key = json.loads(gateway(base_env, "create-api-key", "--merchant",
                             merchant["merchant_id"], "--json").stdout)
    trail.one("api_key.create", "operator", "cli")
    gateway(base_env, "revoke-api-key", key["key_id"])
    trail.one("api_key.revoke", "operator", "cli")


def test_audit_log_list_filters_and_access(client, register, add_user, make_merchant):
    owner = register()
    admin = add_user(owner, "admin")
    add_user(owner, "developer")
    viewer = add_user(owner, "viewer")
    listed = client.get("/api/v1/audit_logs", headers=admin["headers"]).get_json()
    actions = [row["action"] for row in listed["data"]]
    assert actions[0] == "user.login" and actions[-1] == "merchant.register"  # newest first
    assert listed["data"][0]["actor"] == {"type": "user", "id": viewer["user"]["id"]}
    by_action = client.get("/api/v1/audit_logs?action=user.create",
                           headers=owner["headers"]).get_json()["data"]
    assert len(by_action) == 3 and {r["action"] for r in by_action} == {"user.create"}
    by_actor = client.get(f"/api/v1/audit_logs?actor_id={admin['user']['id']}",
                          headers=owner["headers"]).get_json()["data"]
    assert [r["action"] for r in by_actor] == ["user.login"]
    by_object = client.get(f"/api/v1/audit_logs?object_id={viewer['user']['id']}",
                           headers=owner["headers"]).get_json()["data"]
    assert [r["action"] for r in by_object] == ["user.create"]
    page = client.get("/api/v1/audit_logs?limit=2", headers=owner["headers"]).get_json()
    assert len(page["data"]) == 2 and page["has_more"] is True
    nxt = client.get(f"/api/v1/audit_logs?limit=2&starting_after={page['data'][1]['id']}",
                     headers=owner["headers"]).get_json()
    assert nxt["data"][0]["id"] < page["data"][1]["id"]
    assert client.get("/api/v1/audit_logs", headers=viewer["headers"]).status_code == 403
    # another merchant sees none of it
    other = make_merchant("Other")
    other_owner = client.post("/api/v1/auth/register", json={
        "merchant_name": "Other", "email": "o@example.com", "password": PASSWORD}).get_json()
    rows = client.get("/api/v1/audit_logs", headers=bearer(other_owner["access_token"])
                      ).get_json()["data"]
    assert [r["action"] for r in rows] == ["merchant.register"]
    assert client.get("/api/v1/audit_logs", headers=other["headers"]).status_code == 403
