"""Login cannot tell an unknown email from a wrong password by its timing: both run one
argon2 verify (a dummy hash stands in for the missing user). Medians over many interleaved
tries, so scheduling noise on a shared machine does not decide the outcome."""
from __future__ import annotations

import statistics
import time

from tests.accounts.conftest import PASSWORD

TRIES = 40


def _timed(client, email: str) -> float:
    started = time.perf_counter()
    response = client.post("/api/v1/auth/login", json={"email": email,
                                                       "password": "definitely wrong!"})
    elapsed = time.perf_counter() - started
    assert response.status_code == 401
    return elapsed


def test_unknown_email_and_wrong_password_take_the_same_time(app, client, config, register):
    app.extensions["gateway.config"] = config.with_overrides(login_failure_limit=10_000)
    register(email="known@example.com", password=PASSWORD)
    for i in range(3):  # warm up: the dummy hash, connections, caches
        _timed(client, "known@example.com")
        _timed(client, f"warm{i}@example.com")
    known, unknown = [], []
    for i in range(TRIES):
        known.append(_timed(client, "known@example.com"))
        unknown.append(_timed(client, f"nobody{i}@example.com"))
    known_median, unknown_median = statistics.median(known), statistics.median(unknown)
    print(f"login medians over {TRIES} tries: wrong password {known_median * 1000:.2f} ms, "
          f"unknown email {unknown_median * 1000:.2f} ms")
    # Without the dummy verify the unknown email answers several times faster (no argon2
    # at all); with it, the medians stay within a quarter of each other.
    assert abs(known_median - unknown_median) <= 0.25 * max(known_median, unknown_median), \
        (known_median, unknown_median)
