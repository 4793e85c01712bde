"""The one place that reads environment variables (STYLE 2).

``Config.from_env()`` builds a frozen, typed configuration. With nothing set the gateway runs
in development mode on embedded defaults: a SQLite file and a SQLite-backed Celery broker under
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


def embedded_broker_url(var_dir: str) -> str:
    from shared.embedded_broker import default_url
    return default_url(var_dir)


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


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")


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


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(part.strip().rstrip("/") for part in raw.split(",") if part.strip())
    for origin in origins:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"CORS_ORIGINS entries must be http(s)://host[:port] or *, got {origin!r}")
    return origins
def _strong_secret(secret: str) -> bool:
    """Not the default, not blank-looking, not one character repeated."""
    stripped = "".join(secret.split())
    return (secret != DEFAULT_SECRET_KEY and len(stripped) >= 16
            and len(set(stripped)) >= 8)


def _public_https_url(url: str) -> bool:
    from ipaddress import ip_address
    from urllib.parse import urlsplit
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not host:
        return False
    if host == "localhost" or host.endswith((".localhost", ".local")):
        return False
    try:
        address = ip_address(host)
    except ValueError:
        return True
    return address.is_global


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
    # All of one merchant's endpoints together (0: no cap); below the webhooks worker's threads
    # so one merchant's hanging endpoints leave threads for the others.
    webhook_max_in_flight_per_merchant: int = 16
    webhook_rotation_overlap_s: int = 24 * 3600
    sandbox_latency_ms: int = 0
    provider_timeout_s: int = 15
    provider_max_attempts: int = 4
    provider_retry_base_ms: int = 200
    stuck_pending_after_s: int = 60
    outbox_relay_after_s: int = 5
    reconcile_after_s: int = 120
    checkout_expiry_s: int = 24 * 3600
    checkout_return_poll_s: int = 10
    sweep_interval_s: float = 15.0
    log_level: str = "INFO"
    auth_cache_ttl_s: int = 5
    # Accounts (SPEC "Accounts, sessions and roles"): signup, token lifetimes, login limits.
    allow_signup: bool = True
    access_token_ttl_s: int = 900
    refresh_token_ttl_s: int = 30 * 24 * 3600
    login_failure_limit: int = 5
    login_failure_window_s: int = 900
    password_hash_time_cost: int = 3
    password_hash_memory_kib: int = 65536
    password_hash_parallelism: int = 4
    # Protection (SPEC "Protection"): rate limits, CORS, risk rules, notifications.
    rate_limit: str = "100/second"
    rate_limit_burst: int = 200
    cors_origins: tuple[str, ...] = ()
    cors_allow_credentials: bool = False
    risk_velocity: int = 10
    risk_velocity_window_s: int = 600
    smtp_url: str = ""
    smtp_from: str = "Payment Gateway <no-reply@localhost>"
    smtp_timeout_s: int = 10
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from: str = ""
    twilio_api_base: str = "https://api.twilio.com"
    notification_max_attempts: int = 6
    notification_retry_base_s: int = 30
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
            broker_url=env.get("CELERY_BROKER_URL") or redis_url or embedded_broker_url(var_dir),
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
            webhook_max_in_flight_per_merchant=_int(env, "WEBHOOK_MAX_IN_FLIGHT_PER_MERCHANT",
                                                    16),
            webhook_rotation_overlap_s=_int(env, "WEBHOOK_ROTATION_OVERLAP_S", 24 * 3600),
            sandbox_latency_ms=_int(env, "SANDBOX_LATENCY_MS", 0),
            provider_timeout_s=_int(env, "PROVIDER_TIMEOUT_S", 15),
            provider_max_attempts=_int(env, "PROVIDER_MAX_ATTEMPTS", 4),
            provider_retry_base_ms=_int(env, "PROVIDER_RETRY_BASE_MS", 200),
            stuck_pending_after_s=_int(env, "STUCK_PENDING_AFTER_S", 60),
            outbox_relay_after_s=_int(env, "OUTBOX_RELAY_AFTER_S", 5),
            reconcile_after_s=_int(env, "RECONCILE_AFTER_S", 120),
            checkout_expiry_s=_int(env, "CHECKOUT_EXPIRY_S", 24 * 3600),
            checkout_return_poll_s=_int(env, "CHECKOUT_RETURN_POLL_S", 10),
            sweep_interval_s=float(_int(env, "SWEEP_INTERVAL_S", 15)),
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            auth_cache_ttl_s=_int(env, "AUTH_CACHE_TTL_S", 5),
            allow_signup=_bool(env, "ALLOW_SIGNUP", gateway_env != "production"),
            access_token_ttl_s=_int(env, "ACCESS_TOKEN_TTL_S", 900),
            refresh_token_ttl_s=_int(env, "REFRESH_TOKEN_TTL_S", 30 * 24 * 3600),
            login_failure_limit=_int(env, "LOGIN_FAILURE_LIMIT", 5),
            login_failure_window_s=_int(env, "LOGIN_FAILURE_WINDOW_S", 900),
            password_hash_time_cost=_int(env, "PASSWORD_HASH_TIME_COST", 3),
            password_hash_memory_kib=_int(env, "PASSWORD_HASH_MEMORY_KIB", 65536),
            password_hash_parallelism=_int(env, "PASSWORD_HASH_PARALLELISM", 4),
            rate_limit=env.get("RATE_LIMIT", "100/second").strip(),
            rate_limit_burst=_int(env, "RATE_LIMIT_BURST", 200),
            cors_origins=_origins(env.get("CORS_ORIGINS", "")),
            cors_allow_credentials=_bool(env, "CORS_ALLOW_CREDENTIALS", False),
            risk_velocity=_int(env, "RISK_VELOCITY", 10),
            risk_velocity_window_s=_int(env, "RISK_VELOCITY_WINDOW_S", 600),
            smtp_url=env.get("SMTP_URL", ""),
            smtp_from=env.get("SMTP_FROM") or "Payment Gateway <no-reply@localhost>",
            smtp_timeout_s=_int(env, "SMTP_TIMEOUT_S", 10),
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID", ""),
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN", ""),
            twilio_from=env.get("TWILIO_FROM", ""),
            twilio_api_base=env.get("TWILIO_API_BASE") or "https://api.twilio.com",
            notification_max_attempts=_int(env, "NOTIFICATION_MAX_ATTEMPTS", 6),
            notification_retry_base_s=_int(env, "NOTIFICATION_RETRY_BASE_S", 30),
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
        if "*" in self.cors_origins and self.cors_allow_credentials:
            raise ConfigurationError(
                "CORS_ORIGINS=* cannot be combined with CORS_ALLOW_CREDENTIALS=true; "
                "list the origins")
        if not self.is_production:
            return
        if not _strong_secret(self.secret_key):
            raise ConfigurationError(
                "refusing to start in production: SECRET_KEY is unset, the development default "
                "or too weak (needs 16+ non-blank characters, at least 8 of them distinct)")
        if self.embedded_database:
            raise ConfigurationError(
                "refusing to start in production: DATABASE_URL points at embedded SQLite; "
                "set a PostgreSQL URL")
        if self.embedded_broker:
            raise ConfigurationError(
                "refusing to start in production: no REDIS_URL; the embedded broker is for "
                "development only")
        if not _public_https_url(self.providers.public_base_url):
            raise ConfigurationError(
                "refusing to start in production: PUBLIC_BASE_URL must be the gateway's public "
                "https:// URL (providers send customers and callbacks there), not "
                f"{self.providers.public_base_url!r}")

    def with_overrides(self, **changes) -> "Config":
        return replace(self, **changes)
