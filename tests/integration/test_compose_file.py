"""docker-compose.yml without a Docker engine: valid against the compose specification, the
same processes as the Procfile, every setting the providers need passed through, and the
commands it names really start (on the test PostgreSQL and Redis) and serve a payment."""
from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import urllib.request
from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from shared.config import ProviderCredentials
from tests.harness.processes import GatewayProcess, wait_for
from tests.harness.services import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: str, env: dict) -> str:
    """Compose's variable substitution: ${X}, ${X:-default}, ${X:?error}, and $$ for $."""
    def one(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.groups()
        current = env.get(name)
        if op in (":-", "-"):
            return current if current else (arg or "")
        if op in (":?", "?"):
            if not current:
                raise AssertionError(f"compose would refuse: {arg}")
            return current
        return current or ""
    return _VAR.sub(one, value)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _dockerfile_cmd() -> list[str]:
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("CMD "):
            return json.loads(line[4:])
    raise AssertionError("the Dockerfile has no CMD")


def _procfile() -> dict[str, list[str]]:
    processes = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip():
            name, _, command = line.partition(":")
            processes[name] = shlex.split(command)
    return processes


def test_the_file_follows_the_compose_specification(compose):
    import check_jsonschema
    from jsonschema.validators import validator_for
    path = Path(check_jsonschema.__file__).parent / "builtin_schemas/vendor/compose-spec.json"
    schema = json.loads(path.read_text())
    validator_for(schema)(schema).validate(compose)


def test_the_processes_are_the_procfiles(compose):
    procfile = _procfile()
    services = compose["services"]
    web = _dockerfile_cmd()
    assert web[:2] == ["sh", "-c"] and web[2].startswith("exec ")
    assert shlex.split(web[2])[1:] == procfile["web"]
    assert services["worker"]["command"] == procfile["worker"]
    assert services["webhooks"]["command"] == procfile["webhooks"]
    assert services["beat"]["command"] == procfile["beat"]


def test_every_provider_setting_and_the_public_url_are_passed(compose):
    env = compose["x-gateway-env"]
    wanted = {f.name.upper() for f in fields(ProviderCredentials)
              if not f.name.endswith(("_base_url", "_api_base", "_api_version"))}
    assert wanted - set(env) == set()
    assert "PUBLIC_BASE_URL" in env and "PHONEPE_WEBHOOK_PASSWORD" in env
    for service in ("api", "worker", "webhooks", "beat", "migrate"):
        assert compose["services"][service]["environment"]["DATABASE_URL"] == \
            env["DATABASE_URL"]


def test_the_named_commands_start_and_serve_a_payment(compose, postgres, redis_server,
                                                      flush_redis, tmp_path, db):
    # ``db``: the merchant and payment this writes are truncated afterwards like any test's.
    port = free_port()
    host_env = {"SECRET_KEY": "compose-test-secret-0123456789abcdef",
                "PUBLIC_BASE_URL": "https://pay.example.com",
                "WEB_CONCURRENCY": "1", "WORKER_CONCURRENCY": "1",
                "WEBHOOK_CONCURRENCY": "2",
                # In a container $HOSTNAME is the host name Celery puts in the node name.
                "HOSTNAME": socket.gethostname()}
    services = compose["services"]

    def env_of(service: str) -> dict:
        values = {k: interpolate(str(v), host_env)
                  for k, v in services[service]["environment"].items()}
        # The only change: the test servers instead of the compose hostnames.
        values.update(DATABASE_URL=postgres.url, REDIS_URL=redis_server.url, PORT=str(port),
                      GATEWAY_VAR_DIR=str(tmp_path), HOSTNAME=host_env["HOSTNAME"],
                      PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
        return values

    def argv(service: str) -> list[str]:
        command = services[service].get("command") or _dockerfile_cmd()
        return [interpolate(part, {**host_env, "PORT": str(port)}) for part in command]

    migrate = subprocess.run(argv("migrate"), env={**os.environ, **env_of("migrate")},
                             cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    started = []
    try:
        for service, marker in (("api", "Booting worker"), ("worker", "ready."),
                                ("webhooks", "ready."), ("beat", "beat: Starting")):
            started.append(GatewayProcess(argv(service), env_of(service), marker).start(90))
        assert env_of("api")["GATEWAY_ENV"] == "production"
        health = services["api"]["healthcheck"]["test"]
        probe = [part.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for part in health[1:]]
        wait_for(lambda: subprocess.run(probe, env={**os.environ, **env_of("api")},
                                        capture_output=True).returncode == 0,
                 timeout=30, interval=0.5, message="the api healthcheck")

        # The README's step under compose: `docker compose exec api gateway create-merchant`.
        created = subprocess.run(["gateway", "create-merchant", "--name", "Compose", "--json"],
                                 env={**os.environ, **env_of("api")}, capture_output=True,
                                 text=True, timeout=60)
        assert created.returncode == 0, created.stderr[-2000:]
        key = json.loads(created.stdout)["api_key"]
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        # Production never falls back to the sandbox: a test key names it.
        body = json.dumps({"amount": 4100, "currency": "INR", "provider": "sandbox",
                           "payment_method": {"type": "card", "token": "tok_success"}})
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/payments",
                                         data=body.encode(), headers=headers)
        with urllib.request.urlopen(request, timeout=10) as answer:
            payment = json.loads(answer.read())

        def status():
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/payments/{payment['id']}", headers=headers)
            with urllib.request.urlopen(req, timeout=10) as answer:
                return json.loads(answer.read())["status"]
        wait_for(lambda: status() == "completed", timeout=30, interval=0.3,
                 message="the compose worker completing the payment")
        worker_probe = services["worker"]["healthcheck"]["test"]
        ping = subprocess.run(["sh", "-c", interpolate(worker_probe[1], {})],
                              env={**os.environ, **env_of("worker")}, capture_output=True,
                              text=True, timeout=60)
        assert ping.returncode == 0, ping.stdout[-1000:] + ping.stderr[-1000:]
        access = started[0].log()
        # The access log is on: the app's api.access line (gunicorn writes none of its own).
        assert '"logger":"api.access","message":"POST /api/v1/payments 201"' in access
    finally:
        for proc in started:
            proc.kill()
