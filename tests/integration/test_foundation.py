"""The floor: auth, the error shape, JSON-only bodies, size limits, health and readiness."""
from __future__ import annotations

import base64

import pytest


def assert_error(response, status: int, code: str | None = None, param: str | None = None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert set(error) == {"type", "code", "message", "param", "request_id"}
    assert error["request_id"] and error["request_id"] == response.headers["X-Request-Id"]
    if code is not None:
        assert error["code"] == code
    if param is not None:
        assert error["param"] == param
    return error


def test_health_answers_without_credentials(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["X-Request-Id"].startswith("req_")


def test_ready_reports_database_and_broker(client):
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok", "broker": "ok"}


def test_ready_names_the_broker_when_redis_is_down(client, redis_server):
    redis_server.stop()
    try:
        response = client.get("/ready")
    finally:
        redis_server.start_on_same_port()
    assert_error(response, 503, "dependency_unavailable")
    body = response.get_json()
    assert body["checks"]["broker"] != "ok" and body["checks"]["database"] == "ok"
    assert "broker" in body["error"]["message"]


def test_missing_credentials_get_401(client):
    assert_error(client.get("/api/v1/payments"), 401, "missing_api_key")


@pytest.mark.parametrize("header", [
    "Bearer sk_not_a_real_key_at_all_000000000",
    "Token abc",
    "Basic !!!notbase64",
    "Basic " + base64.b64encode(b"no-colon").decode(),
])
def test_bad_credentials_get_401(client, merchant, header):
    assert_error(client.get("/api/v1/payments", headers={"Authorization": header}), 401)


def test_basic_auth_with_key_id_and_secret(client, merchant):
    token = base64.b64encode(f"{merchant['key_id']}:{merchant['api_key']}".encode()).decode()
    response = client.get("/api/v1/payments", headers={"Authorization": f"Basic {token}"})
    assert response.status_code == 200
    assert response.get_json() == {"object": "list", "data": [], "has_more": False}


def test_basic_auth_with_another_keys_secret_is_refused(client, make_merchant):
    a, b = make_merchant("A"), make_merchant("B")
    token = base64.b64encode(f"{a['key_id']}:{b['api_key']}".encode()).decode()
    assert_error(client.get("/api/v1/payments", headers={"Authorization": f"Basic {token}"}),
                 401)


def test_revoked_key_gets_401(client, db, merchant):
    from shared.merchants.credentials import revoke_key
    assert client.get("/api/v1/payments", headers=merchant["headers"]).status_code == 200
    with db.transaction() as session:
        revoke_key(session, merchant["key_id"])
    assert_error(client.get("/api/v1/payments", headers=merchant["headers"]), 401)


def test_keys_are_stored_hashed(db, merchant):
    from sqlalchemy import select

    from shared.merchants.models import ApiKey
    with db.transaction() as session:
        key = session.scalars(select(ApiKey)).one()
    assert merchant["api_key"] not in (key.secret_hash, key.prefix)
    assert merchant["api_key"].startswith(key.prefix)


def test_operator_endpoint_refuses_merchant_keys(client, merchant, operator):
    assert_error(client.get("/api/v1/queue/status", headers=merchant["headers"]), 403)


def test_merchant_endpoints_refuse_operator_keys(client, operator):
    assert_error(client.get("/api/v1/payments", headers=operator["headers"]), 403)


def test_unknown_route_is_json_404(client, merchant):
    assert_error(client.get("/api/v1/nope", headers=merchant["headers"]), 404)
    assert_error(client.get("/nope"), 404)


def test_wrong_method_is_json_405(client, merchant):
    assert_error(client.delete("/api/v1/payments", headers=merchant["headers"]), 405)


def test_malformed_json_gets_400(client, merchant):
    response = client.post("/api/v1/payments", headers=merchant["headers"],
                           data="{not json", content_type="application/json")
    assert_error(response, 400, "invalid_json")


def test_non_json_content_type_gets_415(client, merchant):
    response = client.post("/api/v1/payments", headers=merchant["headers"],
                           data="amount=100", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


def test_oversized_body_gets_413(client, merchant, config):
    big = '{"description": "' + "x" * (config.max_content_length + 10) + '"}'
    response = client.post("/api/v1/payments", headers=merchant["headers"], data=big,
                           content_type="application/json")
    assert_error(response, 413)


def test_server_errors_are_json_without_a_trace(app, client):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = client.get("/boom")
    error = assert_error(response, 500, "internal_error")
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in error["message"]


def test_incoming_request_id_is_echoed(client):
    response = client.get("/health", headers={"X-Request-Id": "req_from_client_1"})
    assert response.headers["X-Request-Id"] == "req_from_client_1"


def test_openapi_document_is_generated_from_schemas(client):
    response = client.get("/docs/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    create = spec["paths"]["/api/v1/payments"]["post"]
    assert "requestBody" in create
    schema_names = set(spec["components"]["schemas"])
    assert {"PaymentCreate", "PaymentMethod"} <= schema_names
    assert client.get("/docs/").status_code == 200


def test_no_secret_appears_in_logs(client, merchant, caplog):
    import logging
    caplog.set_level(logging.DEBUG)
    client.get("/api/v1/payments", headers=merchant["headers"])
    client.get("/api/v1/payments", headers={"Authorization": "Bearer sk_wrong_secret_123456789"})
    client.post("/api/v1/payments", headers=merchant["headers"], json={
        "amount": 100, "currency": "INR",
        "payment_method": {"type": "card", "number": "4242424242424242"}})
    from shared.logging_setup import JsonFormatter
    formatter = JsonFormatter()
    text = "\n".join(formatter.format(r) for r in caplog.records)
    assert caplog.records, "the requests above must have been logged"
    assert merchant["api_key"] not in text
    assert "sk_wrong_secret_123456789" not in text
    assert "4242424242424242" not in text
