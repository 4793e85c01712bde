"""SPEC "Protection": CORS for CORS_ORIGINS only; preflights answered before authentication."""
from __future__ import annotations

import pytest

from shared.config import Config
from shared.errors import ConfigurationError

LISTED = "https://shop.example.com"
PREFLIGHT = {"Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "Authorization, Content-Type, Idempotency-Key"}


def test_preflight_from_a_listed_origin_gets_204_without_credentials(make_app):
    client = make_app(cors_origins=(LISTED, "https://admin.example.com")).test_client()
    response = client.options("/api/v1/payments", headers={"Origin": LISTED, **PREFLIGHT})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == LISTED
    methods = response.headers["Access-Control-Allow-Methods"]
    assert "POST" in methods and "DELETE" in methods
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    for header in ("authorization", "content-type", "idempotency-key"):
        assert header in allowed
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_other_origins_get_no_cors_headers(make_app, merchant):
    client = make_app(cors_origins=(LISTED,)).test_client()
    preflight = client.options("/api/v1/payments",
                               headers={"Origin": "https://evil.example", **PREFLIGHT})
    assert preflight.status_code == 204
    assert not any(h.startswith("Access-Control-") for h in preflight.headers.keys())
    real = client.get("/api/v1/payments",
                      headers={"Origin": "https://evil.example", **merchant["headers"]})
    assert real.status_code == 200
    assert "Access-Control-Allow-Origin" not in real.headers


def test_no_cors_origins_means_no_cors_at_all(make_app):
    client = make_app().test_client()
    response = client.options("/api/v1/payments", headers={"Origin": LISTED, **PREFLIGHT})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_actual_request_from_a_listed_origin_is_still_authenticated(make_app, merchant):
    client = make_app(cors_origins=(LISTED,)).test_client()
    anonymous = client.get("/api/v1/payments", headers={"Origin": LISTED})
    assert anonymous.status_code == 401
    assert anonymous.headers["Access-Control-Allow-Origin"] == LISTED
    ok = client.get("/api/v1/payments", headers={"Origin": LISTED, **merchant["headers"]})
    assert ok.status_code == 200
    assert ok.headers["Access-Control-Allow-Origin"] == LISTED
    assert "RateLimit-Remaining" in ok.headers["Access-Control-Expose-Headers"]


def test_credentials_echo_the_origin_never_star(make_app):
    client = make_app(cors_origins=(LISTED,), cors_allow_credentials=True).test_client()
    response = client.options("/api/v1/payments", headers={"Origin": LISTED, **PREFLIGHT})
    assert response.headers["Access-Control-Allow-Origin"] == LISTED
    assert response.headers["Access-Control-Allow-Credentials"] == "true"


def test_star_with_credentials_is_refused_at_startup():
    with pytest.raises(ConfigurationError, match="CORS_ORIGINS"):
        Config.from_env({"CORS_ORIGINS": "*", "CORS_ALLOW_CREDENTIALS": "true"})
    assert Config.from_env({"CORS_ORIGINS": "https://a.example, https://b.example/"}
                           ).cors_origins == ("https://a.example", "https://b.example")
    with pytest.raises(ConfigurationError):
        Config.from_env({"CORS_ORIGINS": "a.example"})
