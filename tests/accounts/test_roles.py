"""SPEC roles table: every role against every action, on the routes themselves."""
from __future__ import annotations

import pytest

from shared.users import roles
from tests.accounts.conftest import bearer

# The SPEC table, written out independently of shared.users.roles so a wrong row there fails.
SPEC_TABLE = {
    "read": {"owner", "admin", "developer", "viewer", "api_key"},
    "transact": {"owner", "admin", "developer", "api_key"},
    "develop": {"owner", "admin", "developer", "api_key"},
    "administer": {"owner", "admin"},
}
SPEC_ROWS_OF = {
    "payments.read": "read", "refunds.read": "read", "orders.read": "read",
    "events.read": "read", "webhook_logs.read": "read", "balance.read": "read",
    "reports.read": "read", "payments.write": "transact", "orders.write": "transact",
    "refunds.write": "transact", "checkout_sessions.write": "transact",
    "webhook_endpoints.write": "develop", "api_keys.write": "develop",
    "users.read": "administer", "users.write": "administer",
    "merchant_settings.write": "administer", "risk_rules.write": "administer",
    "payouts.write": "administer", "audit_logs.read": "administer",
}


@pytest.mark.parametrize("role", roles.ALL_ROLES)
@pytest.mark.parametrize("action", sorted(SPEC_ROWS_OF))
def test_can_matches_the_spec_table(role, action):
    assert roles.can(role, action) is (role in SPEC_TABLE[SPEC_ROWS_OF[action]])


def test_unknown_action_is_an_error_not_a_silent_answer():
    with pytest.raises(ValueError):
        roles.can("owner", "payments.delete_everything")


# (method, path, action): object ids that do not exist, and an empty body, so a caller who
# may act gets 404/400 and one who may not gets 403, and nothing changes either way.
ROUTES = [
    ("GET", "/api/v1/payments", "payments.read"),
    ("GET", "/api/v1/payments/pay_0000000000000000000000000a", "payments.read"),
    ("POST", "/api/v1/payments", "payments.write"),
    ("PATCH", "/api/v1/payments/pay_0000000000000000000000000a", "payments.write"),
    ("POST", "/api/v1/payments/pay_0000000000000000000000000a/verify", "payments.write"),
    ("GET", "/api/v1/orders", "orders.read"),
    ("GET", "/api/v1/orders/ord_0000000000000000000000000a", "orders.read"),
    ("POST", "/api/v1/orders", "orders.write"),
    ("GET", "/api/v1/refunds", "refunds.read"),
    ("GET", "/api/v1/refunds/rfnd_0000000000000000000000000a", "refunds.read"),
    ("POST", "/api/v1/refunds", "refunds.write"),
    ("GET", "/api/v1/events", "events.read"),
    ("GET", "/api/v1/events/evt_0000000000000000000000000a", "events.read"),
    ("GET", "/api/v1/webhook_endpoints", "webhook_endpoints.read"),
    ("GET", "/api/v1/webhook_endpoints/we_0000000000000000000000000a",
     "webhook_endpoints.read"),
    ("POST", "/api/v1/webhook_endpoints", "webhook_endpoints.write"),
    ("PATCH", "/api/v1/webhook_endpoints/we_0000000000000000000000000a",
     "webhook_endpoints.write"),
    ("DELETE", "/api/v1/webhook_endpoints/we_0000000000000000000000000a",
     "webhook_endpoints.write"),
    ("POST", "/api/v1/webhook_endpoints/we_0000000000000000000000000a/rotate_secret",
     "webhook_endpoints.write"),
    ("POST", "/api/v1/webhook_endpoints/we_0000000000000000000000000a/test",
     "webhook_endpoints.write"),
    ("GET", "/api/v1/webhook_logs", "webhook_logs.read"),
    ("GET", "/api/v1/webhook_logs/whl_0000000000000000000000000a", "webhook_logs.read"),
    ("POST", "/api/v1/webhook_logs/whl_0000000000000000000000000a/retry",
     "webhook_logs.retry"),
    ("GET", "/api/v1/api_keys", "api_keys.read"),
    ("POST", "/api/v1/api_keys", "api_keys.write"),
    ("DELETE", "/api/v1/api_keys/key_0000000000000000000000000a", "api_keys.write"),
    ("GET", "/api/v1/users", "users.read"),
    ("GET", "/api/v1/users/usr_0000000000000000000000000a", "users.read"),
    ("POST", "/api/v1/users", "users.write"),
    ("PATCH", "/api/v1/users/usr_0000000000000000000000000a", "users.write"),
    ("GET", "/api/v1/audit_logs", "audit_logs.read"),
]

# Bodies that pass no validation (so an allowed caller gets 400, and nothing is created).
INVALID_BODY = {"POST": {"livemode": "not a boolean", "amount": "x", "url": 5},
                "PATCH": {"status": 12345, "role": 7}}


@pytest.fixture
def callers(client, register, add_user):
    owner = register()
    by_role = {"owner": owner["headers"]}
    for role in ("admin", "developer", "viewer"):
        by_role[role] = add_user(owner, role)["headers"]
    key = client.post("/api/v1/api_keys", headers=owner["headers"], json={})
    assert key.status_code == 201, key.get_data(as_text=True)
    by_role["api_key"] = bearer(key.get_json()["secret"])
    return by_role


def test_every_role_against_every_route(client, callers):
    failures = []
    for method, path, action in ROUTES:
        for role, headers in callers.items():
            body = INVALID_BODY.get(method)
            response = client.open(path, method=method, headers=headers,
                                   json=body if body is not None else None)
            allowed = roles.can(role, action)
            code = response.get_json()["error"]["code"] if response.status_code >= 400 \
                else None
            if allowed and response.status_code == 403:
                failures.append(f"{role} refused {method} {path}: {code}")
            if not allowed and (response.status_code != 403 or code != "insufficient_role"):
                failures.append(f"{role} allowed {method} {path}: {response.status_code}")
            if allowed:
                assert response.status_code in (200, 400, 404), (role, method, path,
                                                                 response.get_data())
    assert not failures, "\n".join(failures)


PUBLIC = {"/api/v1/webhooks/<provider>", "/api/v1/auth/register", "/api/v1/auth/login",
          "/api/v1/auth/refresh"}
OPERATOR = {"/api/v1/queue/status"}
USER_ONLY = {"/api/v1/auth/logout"}  # about the caller's own session, not a table action


def test_every_api_route_declares_its_action(app):
    undeclared = []
    covered = {(m, p) for m, p, _ in ROUTES}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule in PUBLIC | OPERATOR | USER_ONLY:
            continue
        view = app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            handler = getattr(getattr(view, "view_class", None), method.lower(), view)
            if getattr(handler, "required_action", None) not in roles.ACTIONS:
                undeclared.append(f"{method} {rule.rule}")
    assert not undeclared, undeclared
    # and the table-driven test above exercises every such route but /me (any user role)
    tested_rules = {p.rsplit("/", 1)[0] for _, p in covered}
    assert "/api/v1/webhook_endpoints" in tested_rules


def test_only_an_owner_can_make_an_owner(client, register, add_user):
    owner = register()
    admin = add_user(owner, "admin")
    dev = add_user(owner, "developer")
    r = client.patch(f"/api/v1/users/{dev['user']['id']}", headers=admin["headers"],
                     json={"role": "owner"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "insufficient_role"
    r = client.patch(f"/api/v1/users/{owner['user']['id']}", headers=admin["headers"],
                     json={"role": "viewer"})
    assert r.status_code == 403
    r = client.patch(f"/api/v1/users/{dev['user']['id']}", headers=owner["headers"],
                     json={"role": "owner"})
    assert r.status_code == 200 and r.get_json()["role"] == "owner"


def test_a_demoted_user_loses_the_rights_at_once(client, register, add_user):
    owner = register()
    admin = add_user(owner, "admin")
    assert client.get("/api/v1/users", headers=admin["headers"]).status_code == 200
    client.patch(f"/api/v1/users/{admin['user']['id']}", headers=owner["headers"],
                 json={"role": "viewer"})
    r = client.get("/api/v1/users", headers=admin["headers"])
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "insufficient_role"
