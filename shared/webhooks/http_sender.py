"""One HTTP POST of a signed event to a merchant endpoint.

The request goes to the address ``url_policy`` just checked (Host header, TLS SNI and
certificate verification still use the URL's host name), so a DNS answer that changes between
the check and the connection cannot redirect it. Redirects are not followed, and the whole
exchange is bounded by the timeout, including a receiver that trickles its answer. Retries
live in the database's schedule (each is an attempt with its row), with one exception that
our own connection reuse creates: a request sent on a kept-alive connection that the server
closed or reset without answering (its idle timeout racing our request; Node closes idle
connections after 5 s) is sent again at once, once, on a new connection, within what is
left of the timeout, as HTTP clients do. A sender without kept-alive connections would have
opened a new one in the first place; without the resend, the delivery waited for its first
scheduled retry (a minute) although the endpoint was fine. A reset on a new connection is
a failed attempt like any other. Should a server have taken the first request, it gets it
twice with the same ``webhook-id``: deliveries are at least once.
"""
from __future__ import annotations

import email.utils
import threading
import time
from dataclasses import dataclass
from datetime import UTC

import certifi
import urllib3

from shared.webhooks.url_policy import UrlRefused, target_for

RESPONSE_BODY_LIMIT = 1024
RESPONSE_DRAIN_LIMIT = 1
USER_AGENT = "gateway-webhooks/1"


@dataclass(frozen=True)
class SendResult:
    status: int | None          # HTTP status, None when no answer came back
    duration_ms: int
    body: str | None            # the first KiB of the answer
    error: str | None           # why it failed, for the log; never contains the signature
    retry_after_s: float | None

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


# Kept-alive connections per destination: (scheme, resolved address, port, host name, CA).
# The key is the address the URL policy just resolved and approved, so a cached connection
# never bypasses that check (a host that now resolves elsewhere gets a new pool).
_POOLS: dict[tuple, urllib3.HTTPConnectionPool] = {}
_POOLS_LOCK = threading.Lock()
MAX_POOLS = 512
# Idle connections kept per destination (the per-endpoint in-flight cap is 4 by default);
# more requests at once still go out, on connections that are closed afterwards.
POOL_MAXSIZE = 8
# The least time left of the timeout for which a request the server closed unanswered is
# sent again.
RETRY_MIN_S = 0.5


def _new_pool(target, ca_certs: str | None) -> urllib3.HTTPConnectionPool:
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            target.address, target.port, retries=False, maxsize=POOL_MAXSIZE, block=False,
            cert_reqs="CERT_REQUIRED", ca_certs=ca_certs or certifi.where(),
            server_hostname=target.host, assert_hostname=target.host)
    return urllib3.HTTPConnectionPool(target.address, target.port, retries=False,
                                      maxsize=POOL_MAXSIZE, block=False)


def _pool(target, ca_certs: str | None) -> urllib3.HTTPConnectionPool:
    key = (target.scheme, target.address, target.port, target.host, ca_certs)
    pool = _POOLS.get(key)
    if pool is None:
        with _POOLS_LOCK:
            pool = _POOLS.get(key)
            if pool is None:
                if len(_POOLS) >= MAX_POOLS:
                    for old in _POOLS.values():
                        old.close()
                    _POOLS.clear()
                pool = _POOLS[key] = _new_pool(target, ca_certs)
    return pool


def _host_header(target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


def post(url: str, body: bytes, headers: dict, timeout_s: float, production: bool,
         ca_certs: str | None = None) -> SendResult:
    started = time.monotonic()

    def elapsed_ms() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = target_for(url, production)
    except UrlRefused as exc:
        return SendResult(None, elapsed_ms(), None, f"url refused: {exc.message}", None)

    request_headers = {"Host": _host_header(target), "Content-Type": "application/json",
                       "User-Agent": USER_AGENT, **headers}
    fresh = None
    try:
        pool = _pool(target, ca_certs)
        opened = pool.num_connections
        try:
            response = _urlopen(pool, target, body, request_headers, timeout_s, started)
        except urllib3.exceptions.ProtocolError as exc:
            # Sent on a kept-alive connection: the pool opened none for it (when another
            # thread opened one meanwhile, this counts as a new one, not sent again: the safe
            # side). Once, at once, on a connection of its own, not another kept-alive one.
            if pool.num_connections != opened or not _closed_unanswered(exc) or \
                    timeout_s - (time.monotonic() - started) < RETRY_MIN_S:
                raise
            fresh = _new_pool(target, ca_certs)
            response = _urlopen(fresh, target, body, request_headers, timeout_s, started)
        chunk = _read_answer(response)
    except urllib3.exceptions.NewConnectionError as exc:
        return SendResult(None, elapsed_ms(), None, _describe(exc), None)
    except urllib3.exceptions.TimeoutError:
        return SendResult(None, elapsed_ms(), None, f"timed out after {timeout_s}s", None)
    except urllib3.exceptions.HTTPError as exc:
        return SendResult(None, elapsed_ms(), None, _describe(exc), None)
    except OSError as exc:
        return SendResult(None, elapsed_ms(), None, f"connection error: {type(exc).__name__}",
                          None)
    finally:
        if fresh is not None:
            fresh.close()

    duration = elapsed_ms()
    text = chunk.decode("utf-8", errors="replace") if chunk else ""
    if duration > timeout_s * 1000:
        return SendResult(response.status, duration, text,
                          f"answered after the {timeout_s}s timeout", None)
    error = None if 200 <= response.status < 300 else _status_error(response.status)
    return SendResult(response.status, duration, text, error,
                      parse_retry_after(response.headers.get("Retry-After")))


def _urlopen(pool, target, body: bytes, headers: dict, timeout_s: float, started: float):
    """Send the request on ``pool`` within what is left of the timeout; the answer's headers."""
    remaining_s = max(timeout_s - (time.monotonic() - started), 0.001)
    return pool.urlopen("POST", target.path, body=body, headers=headers, redirect=False,
                        retries=False, preload_content=False, assert_same_host=False,
                        timeout=urllib3.Timeout(total=remaining_s))


def _read_answer(response) -> bytes:
    """The first KiB of the answer's body. A short answer read to its end leaves the
    connection reusable (kept alive for the next delivery to this destination); anything
    longer closes it."""
    reusable = False
    try:
        chunk = response.read(RESPONSE_BODY_LIMIT, decode_content=False)
        if len(chunk) < RESPONSE_BODY_LIMIT or not response.read(
                RESPONSE_DRAIN_LIMIT, decode_content=False):
            reusable = True
    finally:
        if reusable:
            response.release_conn()
        else:
            response.close()
    return chunk


def _closed_unanswered(exc: urllib3.exceptions.ProtocolError) -> bool:
    """The server closed or reset the connection before any answer."""
    reason = exc.args[1] if len(exc.args) > 1 else exc.__cause__ or exc.__context__
    return isinstance(reason, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError))


def _status_error(status: int) -> str:
    if 300 <= status < 400:
        return f"HTTP {status}: redirects are not followed"
    return f"HTTP {status}"


def _describe(exc: Exception) -> str:
    # The exception's class names the failure (refused, reset, TLS) and, unlike its text,
    # can never echo request headers.
    reason = getattr(exc, "reason", None) or exc.__cause__ or exc.__context__
    name = type(reason).__name__ if isinstance(reason, Exception) else type(exc).__name__
    return f"connection error: {type(exc).__name__} ({name})"[:500]
