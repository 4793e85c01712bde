"""The one place that reads environment variables (STYLE 2).

``Config.from_env()`` builds a frozen, typed configuration. With nothing set the gateway runs
in development mode on embedded defaults: a SQLite file and a filesystem Celery broker under
``var/``, so a newcomer needs no servers. ``GATEWAY_ENV=production`` refuses embedded storage
and the default ``SECRET_KEY``.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from shared.errors import ConfigurationError

DEFAULT_SECRET_KEY = "dev-secret-key-change-me"
# Seconds between delivery attempts: ~1 min, 5 min, 30 min, 2 h, 5 h, 10 h, then every 12 h
# up to 3 days after the first attempt.
DEFAULT_RETRY_SCHEDULE = (60, 300, 1800, 7200, 18000, 36000, 43200, 43200, 43200, 43200, 43200)


def _project_root() -> Path:
    return Path(__file__).resolve().parent.parent


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from None


def _schedule(raw: str | None) -> tuple[int, ...]:
    if not raw:
        return DEFAULT_RETRY_SCHEDULE
    try:
        values = tuple(int(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise ConfigurationError(
            "WEBHOOK_RETRY_SCHEDULE must be comma-separated integer seconds") from None
    if not values or any(v < 0 for v in values):
        raise ConfigurationError("WEBHOOK_RETRY_SCHEDULE must list non-negative seconds")
    return values


@dataclass(frozen=True)
class ProviderCredentials:
    stripe_secret_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_api_base: str = "https://api.stripe.com"
    razorpay_key_id: str = ""
    razorpay_key_secret: str = ""
    razorpay_webhook_secret: str = ""
    razorpay_base_url: str = "https://api.razorpay.com/v1"
    phonepe_merchant_id: str = ""
    phonepe_salt_key: str = ""
    phonepe_salt_index: str = "1"
    phonepe_webhook_username: str = ""
    phonepe_webhook_password: str = ""
    phonepe_base_url: str = "https://api.phonepe.com/apis/hermes"
    cashfree_client_id: str = ""
    cashfree_client_secret: str = ""
    cashfree_base_url: str = "https://api.cashfree.com/pg"
    cashfree_api_version: str = "2023-08-01"
    # Where PhonePe / Cashfree send the customer back and post their callbacks.
    public_base_url: str = "http://localhost:8000"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "ProviderCredentials":
        values = {}
        for f in fields(cls):
            raw = env.get(f.name.upper())
            if raw is not None:
                values[f.name] = raw
        return cls(**values)


@dataclass(frozen=True)
class Config:
    env: str = "development"
    database_url: str = ""
    broker_url: str = ""
    redis_url: str = ""
    secret_key: str = DEFAULT_SECRET_KEY
    var_dir: str = ""
    max_content_length: int = 1024 * 1024
    amount_min: int = 1
    amount_max: int = 10**12
    idempotency_ttl_s: int = 24 * 3600
    webhook_retry_schedule: tuple[int, ...] = DEFAULT_RETRY_SCHEDULE
    webhook_timeout_s: int = 10
    webhook_max_in_flight_per_endpoint: int = 4
    webhook_rotation_overlap_s: int = 24 * 3600
    sandbox_latency_ms: int = 0
    provider_timeout_s: int = 15
    provider_max_attempts: int = 4
    provider_retry_base_ms: int = 200
    stuck_pending_after_s: int = 60
    outbox_relay_after_s: int = 5
    reconcile_after_s: int = 120
    checkout_expiry_s: int = 24 * 3600
    sweep_interval_s: float = 15.0
    log_level: str = "INFO"
    auth_cache_ttl_s: int = 5
    # Ledger (SPEC "Ledger, balances and payouts"): default fee schedule, settlement delay,
    # automatic payouts.
    fee_bps: int = 200
    fee_fixed: int = 0
    settlement_delay_s: int = 2 * 24 * 3600
    payout_schedule: str = "manual"
    providers: ProviderCredentials = field(default_factory=ProviderCredentials)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def embedded_database(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def embedded_broker(self) -> bool:
        return not self.broker_url.startswith(("redis://", "rediss://"))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Config":
        env = os.environ if env is None else env
        gateway_env = env.get("GATEWAY_ENV", "development").strip() or "development"
        if gateway_env not in ("development", "production"):
            raise ConfigurationError(
                f"GATEWAY_ENV must be 'development' or 'production', got {gateway_env!r}")
        var_dir = env.get("GATEWAY_VAR_DIR") or str(_project_root() / "var")
        redis_url = env.get("REDIS_URL", "")
        config = cls(
            env=gateway_env,
            database_url=env.get("DATABASE_URL") or f"sqlite:///{var_dir}/gateway.db",
            broker_url=env.get("CELERY_BROKER_URL") or redis_url or "filesystem://",
            redis_url=redis_url,
            secret_key=env.get("SECRET_KEY") or DEFAULT_SECRET_KEY,
            var_dir=var_dir,
            max_content_length=_int(env, "MAX_CONTENT_LENGTH", 1024 * 1024),
            amount_min=_int(env, "AMOUNT_MIN", 1),
            amount_max=_int(env, "AMOUNT_MAX", 10**12),
            idempotency_ttl_s=_int(env, "IDEMPOTENCY_TTL_S", 24 * 3600),
            webhook_retry_schedule=_schedule(env.get("WEBHOOK_RETRY_SCHEDULE")),
            webhook_timeout_s=_int(env, "WEBHOOK_TIMEOUT_S", 10),
            webhook_max_in_flight_per_endpoint=_int(env, "WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT", 4),
            webhook_rotation_overlap_s=_int(env, "WEBHOOK_ROTATION_OVERLAP_S", 24 * 3600),
            sandbox_latency_ms=_int(env, "SANDBOX_LATENCY_MS", 0),
            provider_timeout_s=_int(env, "PROVIDER_TIMEOUT_S", 15),
            provider_max_attempts=_int(env, "PROVIDER_MAX_ATTEMPTS", 4),
            provider_retry_base_ms=_int(env, "PROVIDER_RETRY_BASE_MS", 200),
            stuck_pending_after_s=_int(env, "STUCK_PENDING_AFTER_S", 60),
            outbox_relay_after_s=_int(env, "OUTBOX_RELAY_AFTER_S", 5),
            reconcile_after_s=_int(env, "RECONCILE_AFTER_S", 120),
            checkout_expiry_s=_int(env, "CHECKOUT_EXPIRY_S", 24 * 3600),
            sweep_interval_s=float(_int(env, "SWEEP_INTERVAL_S", 15)),
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            auth_cache_ttl_s=_int(env, "AUTH_CACHE_TTL_S", 5),
            fee_bps=_int(env, "FEE_BPS", 200),
            fee_fixed=_int(env, "FEE_FIXED", 0),
            settlement_delay_s=_int(env, "SETTLEMENT_DELAY_S", 2 * 24 * 3600),
            payout_schedule=env.get("PAYOUT_SCHEDULE", "manual").strip() or "manual",
            providers=ProviderCredentials.from_env(env),
        )
        if config.payout_schedule not in ("manual", "daily"):
            raise ConfigurationError(
                f"PAYOUT_SCHEDULE must be 'manual' or 'daily', got {config.payout_schedule!r}")
        if not 0 <= config.fee_bps <= 10_000 or config.fee_fixed < 0:
            raise ConfigurationError("FEE_BPS must be 0..10000 and FEE_FIXED at least 0")
        config.check()
        return config

    def check(self) -> None:
        """Refuse to run production on development defaults, with a one-line reason."""
        if not self.is_production:
            return
        if self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < 16:
            raise ConfigurationError(
                "refusing to start in production: SECRET_KEY is unset or the development default")
        if self.embedded_database:
            raise ConfigurationError(
                "refusing to start in production: DATABASE_URL points at embedded SQLite; "
                "set a PostgreSQL URL")
        if self.embedded_broker:
            raise ConfigurationError(
                "refusing to start in production: no REDIS_URL; the embedded broker is for "
                "development only")

    def with_overrides(self, **changes) -> "Config":
        return replace(self, **changes)
