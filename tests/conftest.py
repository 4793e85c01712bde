"""Fixtures: a real PostgreSQL and a real Redis for the whole session (started here, on free
ports, in throwaway directories), migrations applied once, every table emptied after each
test. Apps and workers are built from the same Config the tests hand them."""
from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from shared.config import Config
from shared.db import Database
from shared.models import Base
from tests.harness.services import PostgresServer, RedisServer


@pytest.fixture(scope="session")
def postgres():
    server = PostgresServer().start()
    from shared.migrate import upgrade
    upgrade(server.url)
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def redis_server():
    server = RedisServer().start()
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def base_env(postgres, redis_server, tmp_path_factory) -> dict:
    return {
        "DATABASE_URL": postgres.url,
        "REDIS_URL": redis_server.url,
        "GATEWAY_VAR_DIR": str(tmp_path_factory.mktemp("var")),
        "AUTH_CACHE_TTL_S": "0",
        "PROVIDER_RETRY_BASE_MS": "10",
        "LOG_LEVEL": "INFO",
        # Most tests pay with one sandbox token many times; tests/protection turns it on.
        "RISK_VELOCITY": "0",
        # Cheap argon2 for the many users tests sign in (tests/accounts compares real costs).
        "PASSWORD_HASH_TIME_COST": "1", "PASSWORD_HASH_MEMORY_KIB": "8192",
        "PASSWORD_HASH_PARALLELISM": "1",
    }


@pytest.fixture
def config(base_env) -> Config:
    return Config.from_env(base_env)


@pytest.fixture(scope="session")
def session_db(postgres):
    database = Database(postgres.url)
    yield database
    database.dispose()


_TABLES = ", ".join(t.name for t in Base.metadata.sorted_tables)


@pytest.fixture
def db(session_db):
    session_db.outbox_relay = None
    yield session_db
    # A worker process of a longer-lived fixture may still be in a transaction (a delivery
    # retry, the sweeper); PostgreSQL then picks one side of the deadlock with our TRUNCATE
    # to abort. When it picks the TRUNCATE, truncate again.
    for attempt in range(5):
        try:
            with session_db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE"))
            return
        except OperationalError as exc:
            if "deadlock detected" not in str(exc) or attempt == 4:
                raise


@pytest.fixture
def published():
    """Messages the API handed to the broker, captured instead of sent (unit-level tests)."""
    return []


@pytest.fixture
def app(config, db, published):
    from api import create_app
    application = create_app(config, db=db,
                              publish=lambda task, args, queue: published.append(
                                  (task, args, queue)))
    application.testing = True
    return application


@pytest.fixture
def client(app):
    return app.test_client()


class MerchantCredentials(dict):
    """A test merchant: its id and API key (``headers``). ``["owner_headers"]`` signs in an
    owner of it on first use, for the actions the roles table keeps from API keys (risk
    rules, merchant settings, payouts, users, the audit log)."""

    def __init__(self, data: dict, sign_in_owner) -> None:
        super().__init__(data)
        self._sign_in_owner = sign_in_owner
        self._lock = threading.Lock()  # tests race requests from threads

    def __missing__(self, key):
        if key != "owner_headers":
            raise KeyError(key)
        with self._lock:
            if key not in self:
                self[key] = self._sign_in_owner(self["merchant_id"])
        return self[key]


@pytest.fixture
def make_merchant(db, config):
    from shared.audit.service import CLI_ACTOR
    from shared.merchants.credentials import create_merchant
    from shared.users.service import create_user, issue_session

    def sign_in_owner(merchant_id: str) -> dict:
        with db.transaction() as session:
            user = create_user(session, config, merchant_id,
                               email=f"owner+{merchant_id.lower()}@example.com", name="Owner",
                               role="owner", password="correct horse battery staple",
                               actor=CLI_ACTOR)
            issued = issue_session(session, config, user)
        return {"Authorization": f"Bearer {issued.access_token}"}

    def make(name: str = "Acme"):
        with db.transaction() as session:
            merchant, key = create_merchant(session, name)
        return MerchantCredentials(
            {"merchant_id": merchant.id, "key_id": key.key_id, "api_key": key.api_key,
             "headers": {"Authorization": f"Bearer {key.api_key}"}}, sign_in_owner)
    return make


@pytest.fixture
def merchant(make_merchant):
    return make_merchant()


@pytest.fixture
def operator(db):
    from shared.merchants.credentials import issue_key
    with db.transaction() as session:
        key = issue_key(session, None, role="operator")
    return {"key_id": key.key_id, "api_key": key.api_key,
            "headers": {"Authorization": f"Bearer {key.api_key}"}}


def pytest_configure(config):
    os.environ.setdefault("GATEWAY_ENV", "development")


@pytest.fixture
def live_app(config, db):
    """The API wired to the real broker (Redis), as in production."""
    from api import create_app
    application = create_app(config, db=db)
    application.testing = True
    return application


@pytest.fixture
def live_client(live_app):
    return live_app.test_client()


@pytest.fixture
def flush_redis(redis_server):
    import redis
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    yield client
    client.flushall()


@pytest.fixture
def start_worker(base_env, flush_redis):
    """Start real Celery worker processes; all are stopped at the end of the test."""
    from tests.harness import processes
    started = []

    def start(queues: str = "payments,refunds,maintenance", concurrency: int = 2,
              pool: str = "prefork", **env):
        proc = processes.worker({**base_env, **env}, queues, concurrency, pool).start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()
