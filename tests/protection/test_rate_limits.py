"""SPEC "Protection": rate limits per credential and per IP, kept in Redis, failing open."""
from __future__ import annotations

import socket
import threading

from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter
from prometheus_client import REGISTRY

from shared.ratelimit.limiter import RateLimiter, limit_item


def _fail_open_count() -> float:
    return REGISTRY.get_sample_value("gateway_rate_limit_fail_open_total") or 0.0


def test_default_is_100_a_second_with_a_burst_of_200():
    item = limit_item("100/second", 200)
    assert (item.amount, item.get_expiry()) == (200, 2)
    assert limit_item("off", 200) is None
    # A process leases 1/50 of the limit at a time: 4 requests of the default 200.
    assert RateLimiter(item, "memory://").lease_size == 4
    assert RateLimiter(limit_item("5/minute", 5), "memory://").lease_size == 1


def test_leases_save_round_trips_and_never_let_more_through_than_the_limit(redis_server,
                                                                           flush_redis):
    # 6,000 per 6,000 s: one window for the whole test. Two limiters are two API processes.
    item = limit_item("1/second", 6000)
    one, two = RateLimiter(item, redis_server.url), RateLimiter(item, redis_server.url)
    assert one.lease_size == 16
    # Load the limiter's Lua scripts first (a first EVALSHA answered NOSCRIPT counts as a
    # call too), so that only the leases below are counted.
    one.hit("credential", "key_warm")
    flush_redis.config_resetstat()
    first = [limiter.hit("credential", "key_busy") for _ in range(2500) for limiter in (one, two)]
    assert all(d.allowed for d in first)
    # One Redis call per lease of 16, not one per request.
    assert flush_redis.info("commandstats")["cmdstat_evalsha"]["calls"] <= 5000 / 16 + 2
    rest = [limiter.hit("credential", "key_busy") for _ in range(1500) for limiter in (one, two)]
    # Near the limit the processes ask for single requests: every counted request is let
    # through, and none beyond the window.
    assert len(first) + sum(d.allowed for d in rest) == 6000
    assert not any(d.allowed for d in rest[-100:])
    assert rest[-1].remaining == 0


def test_a_burst_of_concurrent_first_requests_takes_one_lease(redis_server, flush_redis):
    # The default 200 per 2 s leases 4. Fifty threads of one process arriving together count
    # about fifty requests in the window, not fifty leases of 4 (the whole window).
    item = limit_item("100/second", 200)
    limiter = RateLimiter(item, redis_server.url)
    start = threading.Barrier(50)
    decisions = []

    def hit():
        start.wait()
        decisions.append(limiter.hit("credential", "key_burst"))

    threads = [threading.Thread(target=hit) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(decisions) == 50 and all(d.allowed for d in decisions)
    window = SlidingWindowCounterRateLimiter(storage_from_string(redis_server.url))
    counted = 200 - window.get_window_stats(item, "credential", "key_burst").remaining
    assert 50 <= counted <= 50 + limiter.lease_size - 1
    assert limiter.hit("credential", "key_burst").allowed


def test_over_the_limit_is_429_in_the_error_shape_with_headers(make_app, merchant,
                                                               flush_redis):
    client = make_app(rate_limit="5/minute", rate_limit_burst=5).test_client()
    for _ in range(5):
        ok = client.get("/api/v1/payments", headers=merchant["headers"])
        assert ok.status_code == 200
        assert ok.headers["RateLimit-Limit"] == "5"
    refused = client.get("/api/v1/payments", headers=merchant["headers"])
    assert refused.status_code == 429
    error = refused.get_json()["error"]
    assert error["type"] == "rate_limit_error" and error["code"] == "rate_limited"
    assert error["request_id"] == refused.headers["X-Request-Id"]
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert int(refused.headers["RateLimit-Reset"]) >= 1


def test_each_credential_has_its_own_limit(make_app, make_merchant, flush_redis):
    client = make_app(rate_limit="3/minute", rate_limit_burst=3).test_client()
    first, second = make_merchant("First"), make_merchant("Second")
    for _ in range(3):
        assert client.get("/api/v1/payments", headers=first["headers"]).status_code == 200
    assert client.get("/api/v1/payments", headers=first["headers"]).status_code == 429
    assert client.get("/api/v1/payments", headers=second["headers"]).status_code == 200


def test_the_limit_is_shared_by_every_api_process(make_app, merchant, flush_redis):
    # Two apps are two gunicorn workers: the window is in Redis, not in the process.
    one = make_app(rate_limit="4/minute", rate_limit_burst=4).test_client()
    two = make_app(rate_limit="4/minute", rate_limit_burst=4).test_client()
    for client in (one, two, one, two):
        assert client.get("/api/v1/payments", headers=merchant["headers"]).status_code == 200
    assert two.get("/api/v1/payments", headers=merchant["headers"]).status_code == 429


def test_unauthenticated_routes_are_limited_per_ip(make_app, flush_redis):
    client = make_app(rate_limit="3/minute", rate_limit_burst=3).test_client()
    for _ in range(3):
        assert client.get("/docs/openapi.json").status_code == 200
    assert client.get("/docs/openapi.json").status_code == 429
    other_ip = client.get("/docs/openapi.json", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other_ip.status_code == 200


def test_a_refused_request_changes_nothing(make_app, merchant, flush_redis, db):
    from sqlalchemy import func, select

    from shared.payments.models import Payment
    client = make_app(rate_limit="1/minute", rate_limit_burst=1).test_client()
    body = {"amount": 100, "currency": "INR",
            "payment_method": {"type": "card", "token": "tok_success"}}
    assert client.post("/api/v1/payments", headers=merchant["headers"],
                       json=body).status_code == 201
    assert client.post("/api/v1/payments", headers=merchant["headers"],
                       json=body).status_code == 429
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Payment)) == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_redis_down_fails_open_logged_and_counted(make_app, merchant, operator, caplog):
    client = make_app(rate_limit="1/minute", rate_limit_burst=1,
                      redis_url=f"redis://127.0.0.1:{_closed_port()}/0").test_client()
    before = _fail_open_count()
    body = {"amount": 100, "currency": "INR",
            "payment_method": {"type": "card", "token": "tok_success"}}
    for _ in range(3):
        response = client.post("/api/v1/payments", headers=merchant["headers"], json=body)
        assert response.status_code == 201
        assert "RateLimit-Limit" not in response.headers
    assert _fail_open_count() - before == 3
    assert any("rate limiter: Redis unavailable" in r.getMessage() for r in caplog.records)
    metrics = client.get("/metrics", headers=operator["headers"]).get_data(as_text=True)
    assert "gateway_rate_limit_fail_open_total" in metrics


def test_rate_limit_off_sends_no_headers(make_app, merchant):
    client = make_app(rate_limit="off").test_client()
    response = client.get("/api/v1/payments", headers=merchant["headers"])
    assert response.status_code == 200 and "RateLimit-Limit" not in response.headers
