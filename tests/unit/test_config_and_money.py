from __future__ import annotations

import pytest

from shared.config import DEFAULT_RETRY_SCHEDULE, Config
from shared.errors import ConfigurationError
from shared.money import exponent, from_major_string, to_major_string


def test_development_defaults_need_no_servers():
    config = Config.from_env({})
    assert config.env == "development"
    assert config.database_url.startswith("sqlite:///") and config.embedded_broker
    assert config.webhook_retry_schedule == DEFAULT_RETRY_SCHEDULE


STRONG = "Zq3!x9#Lm2@v7$Pw-strong-test-key"


@pytest.mark.parametrize("env,needle", [
    ({"SECRET_KEY": ""}, "SECRET_KEY"),
    ({"SECRET_KEY": "s" * 32}, "SECRET_KEY"),
    ({"SECRET_KEY": STRONG}, "DATABASE_URL"),
    ({"SECRET_KEY": STRONG, "DATABASE_URL": "postgresql://x/y"}, "REDIS_URL"),
    ({"SECRET_KEY": STRONG, "DATABASE_URL": "postgresql://x/y", "REDIS_URL": "redis://r"},
     "PUBLIC_BASE_URL"),
])
def test_production_refuses_development_defaults(env, needle):
    with pytest.raises(ConfigurationError, match=needle):
        Config.from_env({"GATEWAY_ENV": "production", **env})


def test_production_starts_with_real_settings():
    config = Config.from_env({"GATEWAY_ENV": "production", "SECRET_KEY": STRONG,
                              "DATABASE_URL": "postgresql://x/y", "REDIS_URL": "redis://r:6379",
                              "PUBLIC_BASE_URL": "https://pay.example.com"})
    assert config.is_production and not config.embedded_broker


@pytest.mark.parametrize("raw,expected", [("1,1,1", (1, 1, 1)), ("60, 300", (60, 300))])
def test_retry_schedule_from_env(raw, expected):
    assert Config.from_env({"WEBHOOK_RETRY_SCHEDULE": raw}).webhook_retry_schedule == expected


@pytest.mark.parametrize("raw", ["a,b", "-1"])
def test_bad_retry_schedule_is_refused(raw):
    with pytest.raises(ConfigurationError):
        Config.from_env({"WEBHOOK_RETRY_SCHEDULE": raw})


@pytest.mark.parametrize("code,exp", [("JPY", 0), ("INR", 2), ("USD", 2), ("KWD", 3),
                                      ("BHD", 3), ("XAU", None), ("ABC", None), ("inr", None)])
def test_exponents_come_from_iso_4217(code, exp):
    assert exponent(code) == exp


@pytest.mark.parametrize("amount,code,text", [(10050, "INR", "100.50"), (500, "JPY", "500"),
                                              (1234, "KWD", "1.234"), (1, "USD", "0.01")])
def test_minor_units_round_trip_exactly(amount, code, text):
    assert to_major_string(amount, code) == text
    assert from_major_string(text, code) == amount


def test_sub_minor_amounts_are_refused():
    with pytest.raises(ValueError):
        from_major_string("1.005", "INR")
