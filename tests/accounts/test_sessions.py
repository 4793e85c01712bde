"""SPEC "Accounts, sessions and roles": register, login, refresh with rotation and reuse
detection, logout, /me, and the access token's checks."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from shared.users import tokens
from tests.accounts.conftest import PASSWORD, bearer


def _error(response) -> dict:
    return response.get_json()["error"]


def test_register_creates_merchant_and_owner_and_signs_in(client, register):
    session = register(email="Owner@Example.COM")
    assert session["object"] == "session" and session["token_type"] == "Bearer"
    assert session["expires_in"] == 900
    assert session["user"]["email"] == "owner@example.com"
    assert session["user"]["role"] == "owner" and session["user"]["status"] == "active"
    assert session["user"]["id"].startswith("usr_")
    assert "password" not in str(session["user"]) and "hash" not in str(session["user"])
    me = client.get("/api/v1/me", headers=session["headers"])
    assert me.status_code == 200
    assert me.get_json()["id"] == session["user"]["id"]
    # the access token works on merchant endpoints beside API keys
    assert client.get("/api/v1/payments", headers=session["headers"]).status_code == 200


def test_email_is_unique_case_insensitively(client, register):
    register(email="a@example.com")
    again = client.post("/api/v1/auth/register", json={
        "merchant_name": "Other", "email": "A@EXAMPLE.com", "password": PASSWORD})
    assert again.status_code == 409 and _error(again)["code"] == "email_taken"


def test_register_is_refused_when_signup_is_closed(app, client, config):
    app.extensions["gateway.config"] = config.with_overrides(allow_signup=False)
    response = client.post("/api/v1/auth/register", json={
        "merchant_name": "Acme", "email": "x@example.com", "password": PASSWORD})
    assert response.status_code == 403 and _error(response)["code"] == "signup_disabled"


def test_signup_defaults_open_in_development_closed_in_production(base_env):
    from shared.config import Config
    assert Config.from_env(base_env).allow_signup is True
    prod = {**base_env, "GATEWAY_ENV": "production",
            "SECRET_KEY": "a-strong-production-secret-0123456789",
            "PUBLIC_BASE_URL": "https://pay.example.com"}
    assert Config.from_env(prod).allow_signup is False
    assert Config.from_env({**prod, "ALLOW_SIGNUP": "true"}).allow_signup is True


def test_login_answers_the_same_for_unknown_email_and_wrong_password(client, register):
    register(email="known@example.com")
    wrong = client.post("/api/v1/auth/login",
                        json={"email": "known@example.com", "password": "not the password"})
    unknown = client.post("/api/v1/auth/login",
                          json={"email": "nobody@example.com", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    a, b = _error(wrong), _error(unknown)
    a.pop("request_id"), b.pop("request_id")
    assert a == b and a["code"] == "invalid_credentials"


def test_password_too_short_is_refused(client):
    response = client.post("/api/v1/auth/register", json={
        "merchant_name": "Acme", "email": "x@example.com", "password": "short"})
    assert response.status_code == 400 and _error(response)["param"] == "password"


def test_more_than_five_failures_for_an_email_are_throttled(client, register):
    register(email="target@example.com")
    for _ in range(5):
        r = client.post("/api/v1/auth/login",
                        json={"email": "target@example.com", "password": "wrong password!"})
        assert r.status_code == 401
    # even the right password is refused while the limit holds
    r = client.post("/api/v1/auth/login",
                    json={"email": "TARGET@example.com", "password": PASSWORD})
    assert r.status_code == 429 and _error(r)["code"] == "too_many_login_attempts"
    assert 1 <= int(r.headers["Retry-After"]) <= 900
    # an unknown email has its own counter and is throttled the same way
    for _ in range(5):
        client.post("/api/v1/auth/login",
                    json={"email": "ghost@example.com", "password": "wrong password!"})
    r = client.post("/api/v1/auth/login",
                    json={"email": "ghost@example.com", "password": "wrong password!"})
    assert r.status_code == 429
    # other emails are not affected
    other = client.post("/api/v1/auth/login",
                        json={"email": "else@example.com", "password": "wrong password!"})
    assert other.status_code == 401


def test_refresh_rotates_and_reuse_revokes_the_whole_chain(client, register):
    first = register()
    second = client.post("/api/v1/auth/refresh",
                         json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second = second.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["id"] == first["id"]  # same session (chain)
    assert client.get("/api/v1/me", headers=bearer(second["access_token"])).status_code == 200

    reused = client.post("/api/v1/auth/refresh",
                         json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401 and _error(reused)["code"] == "refresh_token_reused"
    # the thief's and the owner's newer tokens are all dead now
    later = client.post("/api/v1/auth/refresh",
                        json={"refresh_token": second["refresh_token"]})
    assert later.status_code == 401
    for token in (first["access_token"], second["access_token"]):
        me = client.get("/api/v1/me", headers=bearer(token))
        assert me.status_code == 401 and _error(me)["code"] == "invalid_token"


def test_unknown_refresh_token_is_refused(client, register):
    register()
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": "rt_" + "x" * 43})
    assert r.status_code == 401 and _error(r)["code"] == "invalid_token"


def test_logout_revokes_the_chain_and_its_access_tokens(client, register):
    session = register()
    other = client.post("/api/v1/auth/login",
                        json={"email": "owner@example.com", "password": PASSWORD}).get_json()
    out = client.post("/api/v1/auth/logout", headers=session["headers"])
    assert out.status_code == 200 and out.get_json()["revoked"] is True
    assert client.get("/api/v1/me", headers=session["headers"]).status_code == 401
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert r.status_code == 401
    # another session of the same user is untouched
    assert client.get("/api/v1/me", headers=bearer(other["access_token"])).status_code == 200


def test_logout_and_me_need_a_user_not_an_api_key(client, merchant):
    assert client.post("/api/v1/auth/logout", headers=merchant["headers"]).status_code == 403
    assert client.get("/api/v1/me", headers=merchant["headers"]).status_code == 403


def test_password_change_ends_every_session(client, register):
    session = register()
    other = client.post("/api/v1/auth/login",
                        json={"email": "owner@example.com", "password": PASSWORD}).get_json()
    wrong = client.post("/api/v1/me/password", headers=session["headers"], json={
        "current_password": "not it at all", "new_password": "a brand new passphrase"})
    assert wrong.status_code == 400
    changed = client.post("/api/v1/me/password", headers=session["headers"], json={
        "current_password": PASSWORD, "new_password": "a brand new passphrase"})
    assert changed.status_code == 200
    for token in (session["access_token"], other["access_token"]):
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert client.post("/api/v1/auth/refresh", json={
        "refresh_token": other["refresh_token"]}).status_code == 401
    old = client.post("/api/v1/auth/login",
                      json={"email": "owner@example.com", "password": PASSWORD})
    assert old.status_code == 401
    new = client.post("/api/v1/auth/login", json={
        "email": "owner@example.com", "password": "a brand new passphrase"})
    assert new.status_code == 200


def _claims(session: dict, config) -> dict:
    return jwt.decode(session["access_token"], tokens.signing_key(config),
                      algorithms=["HS256"], audience=tokens.AUDIENCE)


def test_access_token_carries_the_spec_claims(register, config):
    session = register()
    claims = _claims(session, config)
    assert set(claims) >= {"sub", "mid", "role", "livemode", "iat", "exp", "jti", "iss", "aud"}
    assert claims["sub"] == session["user"]["id"] and claims["role"] == "owner"
    assert claims["livemode"] is False and claims["exp"] - claims["iat"] == 900
    assert jwt.get_unverified_header(session["access_token"])["alg"] == "HS256"


def _forge(config, claims: dict, key=None, algorithm: str = "HS256", headers=None) -> str:
    return jwt.encode(claims, key if key is not None else tokens.signing_key(config),
                      algorithm=algorithm, headers=headers)


@pytest.mark.filterwarnings("ignore:The HMAC key")  # the forger's short keys, on purpose
@pytest.mark.parametrize("tamper", [
    "expired", "wrong_audience", "wrong_issuer", "raw_secret_key", "other_key",
    "alg_none", "payload_edited", "missing_claim", "rs256_key_confusion"])
def test_bad_access_tokens_are_401_invalid_token(client, register, config, tamper):
    session = register()
    claims = _claims(session, config)
    now = int(time.time())
    if tamper == "expired":
        token = _forge(config, {**claims, "iat": now - 2000, "exp": now - 1000})
    elif tamper == "wrong_audience":
        token = _forge(config, {**claims, "aud": "someone-else"})
    elif tamper == "wrong_issuer":
        token = _forge(config, {**claims, "iss": "evil"})
    elif tamper == "raw_secret_key":
        token = _forge(config, claims, key=config.secret_key)
    elif tamper == "other_key":
        token = _forge(config, claims, key="another-secret-key-entirely-of-32-bytes-or-more")
    elif tamper == "alg_none":
        token = jwt.encode({**claims, "role": "owner"}, None, algorithm="none")
    elif tamper == "payload_edited":
        head, _payload, sig = session["access_token"].split(".")
        other = _forge(config, {**claims, "mid": "mer_someoneelse"}).split(".")[1]
        token = ".".join((head, other, sig))
    elif tamper == "missing_claim":
        token = _forge(config, {k: v for k, v in claims.items() if k != "jti"})
    else:
        token = jwt.encode(claims, _rsa_key(), algorithm="RS256")
    r = client.get("/api/v1/me", headers=bearer(token))
    assert r.status_code == 401, tamper
    assert _error(r)["code"] == "invalid_token"
    # the untampered token still works
    assert client.get("/api/v1/me", headers=session["headers"]).status_code == 200


def _rsa_key():
    from cryptography.hazmat.primitives.asymmetric import rsa
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_hs256_signed_with_a_public_key_is_refused(client, register, config):
    """Key confusion: an attacker signs HS256 with a public key as the HMAC secret. Our key
    is never a PEM, and only HS256 with the derived key verifies."""
    from cryptography.hazmat.primitives import serialization
    session = register()
    claims = _claims(session, config)
    public_pem = _rsa_key().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims).encode())
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    r = client.get("/api/v1/me", headers=bearer(f"{header}.{payload}.{_b64(signature)}"))
    assert r.status_code == 401 and _error(r)["code"] == "invalid_token"


def test_token_expiry_is_enforced(client, register, config):
    from shared.users.tokens import encode_access_token
    session = register()
    claims = _claims(session, config)
    token, _ = encode_access_token(
        config, user_id=claims["sub"], merchant_id=claims["mid"], role="owner",
        livemode=False, session_id=claims["sid"],
        now=datetime.now(UTC) - timedelta(seconds=901))
    r = client.get("/api/v1/me", headers=bearer(token))
    assert r.status_code == 401 and _error(r)["code"] == "invalid_token"


@pytest.mark.parametrize("path,body", [
    ("/api/v1/auth/login", {"email": 5, "password": PASSWORD}),
    ("/api/v1/auth/login", {"email": "a@example.com"}),
    ("/api/v1/auth/login", {"email": "a@example.com", "password": "x" * 5000}),
    ("/api/v1/auth/login", {"email": "a@example.com", "password": PASSWORD, "extra": 1}),
    ("/api/v1/auth/login", {"email": "a@example.com", "password": PASSWORD,
                            "livemode": "yes please"}),
    ("/api/v1/auth/register", {"merchant_name": "A", "email": "not-an-email",
                               "password": PASSWORD}),
    ("/api/v1/auth/register", {"merchant_name": "A" * 5000, "email": "a@example.com",
                               "password": PASSWORD}),
    ("/api/v1/auth/register", {"merchant_name": ["A"], "email": "a@example.com",
                               "password": PASSWORD}),
    ("/api/v1/auth/refresh", {"refresh_token": 12}),
    ("/api/v1/auth/refresh", {}),
])
def test_bad_input_is_400_and_changes_nothing(client, db, path, body):
    from sqlalchemy import func, select

    from shared.users.models import LoginFailure, User
    r = client.post(path, json=body)
    assert r.status_code == 400, r.get_data(as_text=True)
    assert set(_error(r)) == {"type", "code", "message", "param", "request_id"}
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(User)) == 0
        assert s.scalar(select(func.count()).select_from(LoginFailure)) == 0


def test_malformed_json_and_wrong_content_type(client):
    r = client.post("/api/v1/auth/login", data="{not json",
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and _error(r)["code"] == "invalid_json"
    r = client.post("/api/v1/auth/login", data="email=a&password=b",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415


def test_disabled_users_token_stops_within_the_cache_ttl(app, client, register, add_user,
                                                        config):
    from api.auth import KeyCache
    owner = register()
    dev = add_user(owner, "developer")
    app.extensions["gateway.key_cache"] = KeyCache(1.0)
    assert client.get("/api/v1/payments", headers=dev["headers"]).status_code == 200
    r = client.patch(f"/api/v1/users/{dev['user']['id']}", headers=owner["headers"],
                     json={"status": "disabled"})
    assert r.status_code == 200 and r.get_json()["status"] == "disabled"
    deadline = time.monotonic() + 1.5
    status = 200
    while time.monotonic() < deadline:
        status = client.get("/api/v1/payments", headers=dev["headers"]).status_code
        if status == 401:
            break
        time.sleep(0.1)
    assert status == 401
    assert client.post("/api/v1/auth/refresh",
                       json={"refresh_token": dev["refresh_token"]}).status_code == 401
    assert client.post("/api/v1/auth/login", json={
        "email": "developer@example.com", "password": PASSWORD}).status_code == 401
