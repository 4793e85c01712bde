"""The OpenAPI document is valid, covers every route, says what the API really answers, and
live answers (schemathesis against the app on the real PostgreSQL) conform to it."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.response_check import openapi_path

EXAMPLES_PER_OPERATION = 6
ROOT_ROUTES = {"/health", "/ready", "/metrics", "/checkout/return/{payment_id}"}


@pytest.fixture
def document(client):
    response = client.get("/docs/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_the_document_is_valid_openapi(document):
    validate(document)
    assert document["openapi"].startswith("3.0")


def test_every_json_route_is_documented(app, document):
    routes = {(openapi_path(rule.rule), method.lower()) for rule in app.url_map.iter_rules()
              for method in rule.methods - {"HEAD", "OPTIONS"}
              if rule.rule.startswith("/api/") or openapi_path(rule.rule) in ROOT_ROUTES}
    documented = {(path, method) for path, item in document["paths"].items()
                  for method in item if method != "parameters"}
    assert routes - documented == set()
    assert ROOT_ROUTES <= set(document["paths"])


def test_errors_lists_and_headers_are_described_as_sent(document):
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    body = document["components"]["schemas"]["ErrorBody"]
    assert set(body["required"]) == {"type", "code", "message", "param", "request_id"}
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            assert "422" not in op["responses"] or (method == "post" and any(
                p.get("$ref", "").endswith("Idempotency-Key") for p in op["parameters"])), \
                f"{method} {path}: validation answers 400, not 422"
            assert "default" not in op["responses"]
    create = document["paths"]["/api/v1/payments"]["post"]
    assert {"400", "401", "403", "404", "409", "413", "415", "422"} <= set(create["responses"])
    assert "Idempotent-Replayed" in create["responses"]["201"]["headers"]
    assert "X-Request-Id" in create["responses"]["201"]["headers"]
    listing = document["paths"]["/api/v1/payments"]["get"]["responses"]["200"]
    ref = listing["content"]["application/json"]["schema"]["$ref"]
    envelope = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert envelope["properties"]["object"]["enum"] == ["list"]
    assert set(envelope["required"]) == {"object", "data", "has_more"}
    payment = document["components"]["schemas"]["Payment"]
    assert "amount" in payment["required"] and payment["additionalProperties"] is False


def test_a_validation_error_is_400_in_the_error_shape(client, merchant):
    response = client.post("/api/v1/payments", headers=merchant["headers"],
                           json={"amount": "ten", "currency": "INR"})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["param"] == "amount" and error["request_id"] == response.headers["X-Request-Id"]


def test_docs_ui_assets_come_from_the_app(client):
    page = client.get("/docs/").get_data(as_text=True)
    assert "cdn" not in page.lower() and "https://" not in page
    assert 'src="/docs/assets/swagger-ui-bundle.js"' in page
    asset = client.get("/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.get_data()) > 100_000


def _document_of_a_fresh_app() -> dict:
    """The document as the code declares it; it needs no database, so the cases can be
    generated at collection time (the live app under test answers with the same one)."""
    import tempfile

    from api import create_app
    from shared.config import Config
    from shared.db import Database
    var = tempfile.mkdtemp(prefix="gw-openapi-")
    app = create_app(Config.from_env({"GATEWAY_VAR_DIR": var}),
                     db=Database(f"sqlite:///{var}/unused.db"), publish=lambda *a: None)
    return app.test_client().get("/docs/openapi.json").get_json()


DOCUMENT = _document_of_a_fresh_app()
schema = schemathesis.openapi.from_dict(DOCUMENT)


def test_the_live_app_serves_the_same_document(document):
    assert document == DOCUMENT


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck), database=None)
def test_live_answers_conform_to_the_document(case, app, merchant):
    """Zero 5xx, and every answer's status, content type, headers and body as documented.
    Generated requests use a real merchant key; the operator-only and provider-callback
    routes then answer their documented 403 and 400/404."""
    response = case.call(app=app, headers=merchant["headers"])
    case.validate_response(response, checks=[
        not_a_server_error, status_code_conformance, content_type_conformance,
        response_headers_conformance, response_schema_conformance])
