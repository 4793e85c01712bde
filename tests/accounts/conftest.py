"""Accounts fixtures: cheap argon2 parameters (the same for real and dummy hashes, so the
timing test still compares like with like), and helpers to register and sign in."""
from __future__ import annotations

import pytest

from shared.config import Config

FAST_HASHING = {"PASSWORD_HASH_TIME_COST": "1", "PASSWORD_HASH_MEMORY_KIB": "8192",
                "PASSWORD_HASH_PARALLELISM": "1"}
PASSWORD = "correct horse battery staple"


@pytest.fixture
def config(base_env) -> Config:
    return Config.from_env({**base_env, **FAST_HASHING})


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def register(client):
    def make(email: str = "owner@example.com", merchant_name: str = "Acme",
             password: str = PASSWORD) -> dict:
        response = client.post("/api/v1/auth/register", json={
            "merchant_name": merchant_name, "email": email, "password": password})
        assert response.status_code == 201, response.get_data(as_text=True)
        body = response.get_json()
        body["headers"] = bearer(body["access_token"])
        return body
    return make


@pytest.fixture
def add_user(client):
    """A user of an owner's merchant with the given role, signed in."""
    def make(owner: dict, role: str, email: str | None = None) -> dict:
        email = email or f"{role}@example.com"
        response = client.post("/api/v1/users", headers=owner["headers"], json={
            "email": email, "name": role.title(), "role": role, "password": PASSWORD})
        assert response.status_code == 201, response.get_data(as_text=True)
        login = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.get_data(as_text=True)
        body = login.get_json()
        body["headers"] = bearer(body["access_token"])
        return body
    return make
