"""The `gateway` console script, run as a real process against the test database."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.harness.processes import ROOT


def gateway(base_env, *args):
    env = {**os.environ, **base_env, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "shared.cli", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_create_merchant_json_prints_only_json_and_the_key_works(base_env, client, db):
    result = gateway(base_env, "create-merchant", "--name", "X", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert set(payload) == {"merchant_id", "key_id", "api_key"}
    headers = {"Authorization": f"Bearer {payload['api_key']}"}
    assert client.get("/api/v1/payments", headers=headers).status_code == 200

    revoked = gateway(base_env, "revoke-api-key", payload["key_id"])
    assert revoked.returncode == 0, revoked.stderr
    response = client.get("/api/v1/payments", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["type"] == "authentication_error"


def test_create_api_key_and_operator_key(base_env, client, db):
    merchant = json.loads(gateway(base_env, "create-merchant", "--name", "Y", "--json").stdout)
    second = gateway(base_env, "create-api-key", "--merchant", merchant["merchant_id"], "--json")
    key = json.loads(second.stdout)
    assert key["key_id"] != merchant["key_id"]
    assert client.get("/api/v1/payments", headers={
        "Authorization": f"Bearer {key['api_key']}"}).status_code == 200
    operator = json.loads(gateway(base_env, "create-operator-key", "--json").stdout)
    assert set(operator) == {"key_id", "api_key"}
    assert client.get("/api/v1/payments", headers={
        "Authorization": f"Bearer {operator['api_key']}"}).status_code == 403


def test_unknown_merchant_and_key_are_clear_errors(base_env, db):
    missing = gateway(base_env, "create-api-key", "--merchant", "mer_nope", "--json")
    assert missing.returncode != 0 and "mer_nope" in missing.stderr and missing.stdout == ""
    assert gateway(base_env, "revoke-api-key", "key_nope").returncode != 0


def test_production_refuses_default_secret_and_embedded_storage(base_env, tmp_path):
    env = {"GATEWAY_ENV": "production", "GATEWAY_VAR_DIR": str(tmp_path)}
    no_secret = gateway({**env, "DATABASE_URL": base_env["DATABASE_URL"],
                         "REDIS_URL": base_env["REDIS_URL"], "SECRET_KEY": ""}, "migrate")
    assert no_secret.returncode == 2 and "SECRET_KEY" in no_secret.stderr
    strong = "Zq3!x9#Lm2@v7$Pw-strong-test-key"
    sqlite = gateway({**env, "SECRET_KEY": strong, "DATABASE_URL": "",
                      "REDIS_URL": base_env["REDIS_URL"]}, "migrate")
    assert sqlite.returncode == 2 and "DATABASE_URL" in sqlite.stderr
    assert len(sqlite.stderr.strip().splitlines()) == 1
