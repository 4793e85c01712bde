"""API keys and users, managed over the API: secrets shown once, revocation, the last owner,
bad input, and another merchant's ids."""
from __future__ import annotations

import threading

import pytest

from shared.audit.service import Actor
from shared.errors import Conflict
from shared.users import service as user_service
from tests.accounts.conftest import PASSWORD, bearer
from tests.factories import create_order, create_payment, create_webhook_endpoint


def test_api_key_secret_is_shown_once_and_revocation_works(client, register):
    owner = register()
    created = client.post("/api/v1/api_keys", headers=owner["headers"], json={})
    assert created.status_code == 201
    key = created.get_json()
    assert key["object"] == "api_key" and key["secret"].startswith("sk_test_")
    assert key["secret"].startswith(key["prefix"]) and len(key["prefix"]) < len(key["secret"])
    listed = client.get("/api/v1/api_keys", headers=owner["headers"]).get_json()["data"]
    assert [k["id"] for k in listed] == [key["id"]]
    assert "secret" not in listed[0] and key["secret"] not in str(listed)
    assert client.get("/api/v1/orders", headers=bearer(key["secret"])).status_code == 200
    revoked = client.delete(f"/api/v1/api_keys/{key['id']}", headers=owner["headers"])
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    assert client.get("/api/v1/orders", headers=bearer(key["secret"])).status_code == 401


def test_another_merchants_key_and_user_are_404(client, register, make_merchant):
    owner = register()
    other = make_merchant("Other")
    r = client.delete(f"/api/v1/api_keys/{other['key_id']}", headers=owner["headers"])
    assert r.status_code == 404
    assert client.get("/api/v1/orders", headers=other["headers"]).status_code == 200
    other_owner = register(email="o@example.com", merchant_name="Other2")
    uid = other_owner["user"]["id"]
    assert client.get(f"/api/v1/users/{uid}", headers=owner["headers"]).status_code == 404
    r = client.patch(f"/api/v1/users/{uid}", headers=owner["headers"],
                     json={"status": "disabled"})
    assert r.status_code == 404
    assert client.get("/api/v1/me", headers=other_owner["headers"]).status_code == 200
    users = client.get("/api/v1/users", headers=owner["headers"]).get_json()["data"]
    assert [u["id"] for u in users] == [owner["user"]["id"]]


def test_the_last_active_owner_cannot_be_demoted_or_disabled(client, register, add_user):
    owner = register()
    uid = owner["user"]["id"]
    for change in ({"role": "admin"}, {"status": "disabled"}):
        r = client.patch(f"/api/v1/users/{uid}", headers=owner["headers"], json=change)
        assert r.status_code == 409 and r.get_json()["error"]["code"] == "last_owner"
    second = add_user(owner, "owner", email="second@example.com")
    r = client.patch(f"/api/v1/users/{second['user']['id']}", headers=owner["headers"],
                     json={"status": "disabled"})
    assert r.status_code == 200
    # a disabled owner does not count as the other owner
    r = client.patch(f"/api/v1/users/{uid}", headers=owner["headers"], json={"role": "admin"})
    assert r.status_code == 409
    client.patch(f"/api/v1/users/{second['user']['id']}", headers=owner["headers"],
                 json={"status": "active"})
    r = client.patch(f"/api/v1/users/{uid}", headers=owner["headers"], json={"role": "admin"})
    assert r.status_code == 200 and r.get_json()["role"] == "admin"


def test_two_owners_demoting_each_other_at_once_leave_one_owner(db, config, register,
                                                               add_user):
    owner = register()
    second = add_user(owner, "owner", email="second@example.com")
    mid = owner["user"]["merchant_id"]
    pairs = [(owner["user"]["id"], second["user"]["id"]),
             (second["user"]["id"], owner["user"]["id"])]
    results, barrier = [], threading.Barrier(2)

    def demote(actor_id, target_id):
        barrier.wait()
        try:
            with db.transaction() as s:
                user_service.update_user(s, mid, target_id, {"role": "viewer"},
                                         actor=Actor("user", actor_id), actor_role="owner")
            results.append("ok")
        except Conflict:
            results.append("conflict")

    threads = [threading.Thread(target=demote, args=p) for p in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["conflict", "ok"]


@pytest.mark.parametrize("body,param", [
    ({"name": "X", "role": "viewer", "password": PASSWORD}, "email"),
    ({"email": "v@example.com", "name": "X", "role": "viewer"}, "password"),
    ({"email": "v@example.com", "name": "X", "role": "emperor", "password": PASSWORD}, "role"),
    ({"email": "v@example.com", "name": 7, "role": "viewer", "password": PASSWORD}, "name"),
    ({"email": "v@example.com", "name": "X" * 5000, "role": "viewer", "password": PASSWORD},
     "name"),
    ({"email": "v@example.com", "name": "X", "role": "viewer", "password": "short"},
     "password"),
    ({"email": "v@example.com", "name": "X", "role": "viewer", "password": "p" * 10_000},
     "password"),
    ({"email": ["v@example.com"], "name": "X", "role": "viewer", "password": PASSWORD},
     "email"),
])
def test_bad_user_input_is_400_and_changes_nothing(client, register, body, param):
    owner = register()
    r = client.post("/api/v1/users", headers=owner["headers"], json=body)
    assert r.status_code == 400, r.get_data(as_text=True)
    assert r.get_json()["error"]["param"] == param
    users = client.get("/api/v1/users", headers=owner["headers"]).get_json()["data"]
    assert len(users) == 1


def test_bad_key_and_patch_input(client, register):
    owner = register()
    h = owner["headers"]
    r = client.post("/api/v1/api_keys", headers=h, json={"livemode": "yes"})
    assert r.status_code == 400 and r.get_json()["error"]["param"] == "livemode"
    r = client.post("/api/v1/api_keys", headers=h, data="{",
                    content_type="application/json")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_json"
    r = client.post("/api/v1/api_keys", headers=h, data="x", content_type="text/plain")
    assert r.status_code == 415
    r = client.patch(f"/api/v1/users/{owner['user']['id']}", headers=h,
                     json={"status": "sleeping"})
    assert r.status_code == 400
    assert client.get("/api/v1/api_keys", headers=h).get_json()["data"] == []
    r = client.post("/api/v1/users", headers=h, json={
        "email": "OWNER@example.com", "name": "Dup", "role": "viewer", "password": PASSWORD})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "email_taken"


def test_cli_create_user_reads_the_password_from_stdin(base_env, client, db):
    import json
    import os
    import subprocess
    import sys

    from tests.harness.processes import ROOT
    from tests.integration.test_operator_cli import gateway
    merchant = json.loads(gateway(base_env, "create-merchant", "--name", "C", "--json").stdout)
    env = {**os.environ, **base_env, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "shared.cli", "create-user", "--merchant",
         merchant["merchant_id"], "--email", "cli@example.com", "--role", "admin",
         "--password-stdin", "--json"], input=PASSWORD + "\n", env=env,
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert set(json.loads(result.stdout)) == {"user_id"}
    assert PASSWORD not in result.stdout + result.stderr
    login = client.post("/api/v1/auth/login",
                        json={"email": "cli@example.com", "password": PASSWORD})
    assert login.status_code == 200 and login.get_json()["user"]["role"] == "admin"


def test_nul_characters_are_400_never_500(client, register):
    owner = register()
    h = owner["headers"]
    for path, body in [
            ("/api/v1/auth/login", {"email": "a\u0000@x.com", "password": PASSWORD}),
            ("/api/v1/auth/login", {"email": "a@x.com", "password": "abc\u0000defghijklmn"}),
            ("/api/v1/auth/refresh", {"refresh_token": "rt_\u0000"}),
            ("/api/v1/auth/register", {"merchant_name": "A\u0000", "email": "n@x.com",
                                       "password": PASSWORD}),
            ("/api/v1/users", {"email": "u@x.com", "name": "N\u0000", "role": "viewer",
                               "password": PASSWORD})]:
        r = client.post(path, json=body, headers=h)
        assert r.status_code == 400, (path, r.get_data(as_text=True))
    assert client.get("/api/v1/audit_logs?action=a%00b", headers=h).status_code == 400
    assert client.get("/api/v1/users?starting_after=usr_%00", headers=h).status_code == 400
    # A NUL in a path id is refused before routing (api/input_guards.py), like any NUL.
    assert client.get("/api/v1/users/usr_%00", headers=h).status_code == 400
    assert client.delete("/api/v1/api_keys/key_%00", headers=h).status_code == 400


def test_the_demo_owner_can_sign_in_with_the_password_shown_once(client, db, config,
                                                                 make_merchant):
    merchant = make_merchant("Demo merchant")
    with db.transaction() as s:
        owner, password = user_service.create_demo_owner(s, config, merchant["merchant_id"])
        assert password not in owner.password_hash
    r = client.post("/api/v1/auth/login", json={"email": owner.email, "password": password})
    assert r.status_code == 200 and r.get_json()["user"]["role"] == "owner"


def test_a_users_token_never_reaches_another_merchants_data(client, register, make_merchant):
    victim = make_merchant("Victim")
    order = create_order(client, victim["headers"], amount=900)
    payment = create_payment(client, victim["headers"], amount=900, order_id=order["id"])
    endpoint = create_webhook_endpoint(client, victim["headers"], url="http://127.0.0.1:9/v",
                                       events=["*"])
    intruder = register(email="intruder@example.com", merchant_name="Intruder")["headers"]
    for path in (f"/api/v1/orders/{order['id']}", f"/api/v1/payments/{payment['id']}",
                 f"/api/v1/webhook_endpoints/{endpoint['id']}"):
        r = client.get(path, headers=intruder)
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "resource_missing"
    assert client.patch(f"/api/v1/payments/{payment['id']}", headers=intruder,
                        json={"status": "canceled"}).status_code == 404
    assert client.post("/api/v1/refunds", headers=intruder,
                       json={"payment_id": payment["id"]}).status_code == 404
    for path in ("/api/v1/orders", "/api/v1/payments", "/api/v1/events",
                 "/api/v1/webhook_endpoints", "/api/v1/audit_logs", "/api/v1/api_keys"):
        data = client.get(path, headers=intruder).get_json()["data"]
        assert all(row["id"] not in (order["id"], payment["id"], endpoint["id"],
                                     victim["key_id"]) for row in data), path
        assert path == "/api/v1/audit_logs" or data == [], path
    assert client.get(f"/api/v1/payments/{payment['id']}",
                      headers=victim["headers"]).get_json()["status"] == "pending"
