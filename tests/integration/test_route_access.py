"""Every /api/v1 route declares who may call it, where the route is (``api.auth.access`` on
the view, or its blueprint's declaration at registration), and the declarations are what the
contract says: the provider webhooks and the sign-up, sign-in and refresh routes are public,
the queue status is the operator's, everything else takes a merchant credential."""
from __future__ import annotations

from api.auth import MERCHANT, OPERATOR, PUBLIC, access_of
from api.openapi import public_paths

EXPECTED = {
    "/api/v1/webhooks/<provider>": PUBLIC,
    "/api/v1/auth/register": PUBLIC,
    "/api/v1/auth/login": PUBLIC,
    "/api/v1/auth/refresh": PUBLIC,
    "/api/v1/queue/status": OPERATOR,
}


def api_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")]


def test_every_api_route_declares_its_access(app):
    rules = api_rules(app)
    assert len(rules) > 40
    undeclared = [rule.rule for rule in rules if access_of(app, rule.endpoint) is None]
    assert undeclared == []
    declared = {rule.rule: access_of(app, rule.endpoint) for rule in rules}
    for path, level in EXPECTED.items():
        assert declared.pop(path) == level, path
    assert set(declared.values()) == {MERCHANT}


def test_public_paths_in_the_document_are_the_public_routes(app):
    assert public_paths(app) == ("/api/v1/auth/login", "/api/v1/auth/refresh",
                                 "/api/v1/auth/register", "/api/v1/webhooks/{provider}")


def test_each_level_is_enforced(client, merchant, operator):
    # Merchant routes: no credential is a 401, an operator's is a 403.
    assert client.get("/api/v1/payments").status_code == 401
    assert client.get("/api/v1/payments", headers=operator["headers"]).status_code == 403
    assert client.get("/api/v1/payments", headers=merchant["headers"]).status_code == 200
    # The operator's route refuses a merchant key.
    assert client.get("/api/v1/queue/status", headers=merchant["headers"]).status_code == 403
    assert client.get("/api/v1/queue/status", headers=operator["headers"]).status_code == 200
    # Public routes need none (a bad body is a 400, not a 401).
    assert client.post("/api/v1/auth/login", json={}).status_code == 400
    # A path no route has, and a known path with another method, still ask for a credential
    # first, so a caller without one learns nothing about what exists.
    assert client.get("/api/v1/no-such-thing").status_code == 401
    assert client.delete("/api/v1/payments").status_code == 401
    # ... and a public path with another method is not public by accident of its prefix.
    assert client.get("/api/v1/auth/login").status_code == 405
