"""Prometheus metrics shared by the API and the workers.

Under gunicorn or Celery prefork set ``PROMETHEUS_MULTIPROC_DIR`` (the same directory for the
web and worker processes of a host) so every process's samples are aggregated: ``/metrics``
then reads the directory, and two scrapes answered by different gunicorn workers agree. See
docs/operations.md, "Metrics". Labels are bounded: the HTTP method is one of a fixed set and
the route is the URL rule's template (``unmatched`` for 404s), never the raw path.
"""
from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUEST_LATENCY = Histogram(
    "gateway_http_request_duration_seconds", "API request latency",
    ["method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
TASK_OUTCOMES = Counter("gateway_task_outcomes_total", "Worker task outcomes",
                        ["task", "outcome"])
DELIVERY_OUTCOMES = Counter("gateway_webhook_deliveries_total", "Webhook delivery attempts",
                            ["outcome"])
PROVIDER_CALLS = Counter("gateway_provider_calls_total", "Provider calls",
                         ["provider", "operation", "outcome"])
PROVIDER_CONFIG_ERRORS = Counter(
    "gateway_provider_config_errors_total",
    "Provider calls refused for our configuration (401/403, missing credentials)",
    ["provider", "operation"])
PROVIDER_INTEGRITY_MISMATCHES = Counter(
    "gateway_provider_integrity_mismatches_total",
    "Provider answers refused for another amount, currency or object than ours",
    ["object", "field"])


_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _MULTIPROC_DIR:
    # prometheus_client writes one file per process there and fails if it does not exist.
    os.makedirs(_MULTIPROC_DIR, exist_ok=True)

HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


def observe_request(method: str, route: str | None, status: int, elapsed_s: float) -> None:
    """One API request: ``route`` is the matched URL rule (a template) or None."""
    REQUEST_LATENCY.labels(method if method in HTTP_METHODS else "OTHER",
                           route or "unmatched", str(status)).observe(elapsed_s)


def render_latest() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
