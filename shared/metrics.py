"""Prometheus metrics shared by the API and the workers.

Under gunicorn or Celery prefork set ``PROMETHEUS_MULTIPROC_DIR`` so every process's samples
are aggregated (``/metrics`` then reads the directory).
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


def render_latest() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
