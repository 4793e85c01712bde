"""Issue 10 item 7: /metrics labels are bounded, the endpoint needs an operator credential,
and counters from several processes (gunicorn workers, Celery prefork children) add up
through prometheus_client's multiprocess mode."""
from __future__ import annotations

import subprocess
import sys

from prometheus_client import REGISTRY

from tests.factories import create_payment
from tests.harness.processes import ROOT, wait_for


def _method_labels() -> set[str]:
    return {sample.labels["method"] for metric in REGISTRY.collect()
            if metric.name == "gateway_http_request_duration_seconds"
            for sample in metric.samples if "method" in sample.labels}


def test_odd_methods_do_not_grow_the_series(client, merchant):
    for i in range(50):
        response = client.open("/api/v1/payments", method=f"BREW{i}",
                               headers=merchant["headers"])
        assert response.status_code in (400, 401, 405)
    for i in range(20):
        client.get(f"/no/such/path/{i}")
    labels = _method_labels()
    assert not any(label.startswith("BREW") for label in labels)
    assert labels <= {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "OTHER"}
    routes = {sample.labels["route"] for metric in REGISTRY.collect()
              if metric.name == "gateway_http_request_duration_seconds"
              for sample in metric.samples if "route" in sample.labels}
    assert not any(route.startswith("/no/such/path/") for route in routes)


def test_metrics_need_an_operator_credential(client, merchant, operator):
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous.get_json()["error"]["type"] == "authentication_error"
    assert client.get("/metrics", headers=merchant["headers"]).status_code == 403
    allowed = client.get("/metrics", headers=operator["headers"])
    assert allowed.status_code == 200
    assert b"gateway_http_request_duration_seconds" in allowed.data


_BUMP = """
from shared.metrics import DELIVERY_OUTCOMES, TASK_OUTCOMES
TASK_OUTCOMES.labels("process_payment", "completed").inc()
DELIVERY_OUTCOMES.labels("succeeded").inc(2)
"""
_SCRAPE = """
from shared.metrics import render_latest
print(render_latest()[0].decode())
"""


def _python(code: str, env: dict) -> str:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True, timeout=60).stdout


def test_counters_add_up_across_processes(tmp_path):
    import os
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(3):   # three worker processes
        _python(_BUMP, env)
    scrapes = [_python(_SCRAPE, env) for _ in range(2)]   # two web processes answering
    assert scrapes[0] == scrapes[1]
    assert ('gateway_task_outcomes_total{outcome="completed",task="process_payment"} 3.0'
            in scrapes[0])
    assert 'gateway_webhook_deliveries_total{outcome="succeeded"} 6.0' in scrapes[0]


def test_celery_task_counters_reach_the_scrape(live_client, merchant, start_worker, tmp_path,
                                               monkeypatch):
    start_worker(PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    created = create_payment(live_client, merchant["headers"], amount=1000, currency="EUR")

    def completed():
        body = live_client.get(f"/api/v1/payments/{created['id']}",
                               headers=merchant["headers"]).get_json()
        return body["status"] == "completed"
    wait_for(completed, 30, message="the worker to complete the payment")
    from shared.metrics import render_latest
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    def scraped():
        text = render_latest()[0].decode()
        return 'task="process_payment"' in text and text
    text = wait_for(scraped, 10, message="the task counter in the multiprocess directory")
    assert 'gateway_task_outcomes_total{outcome="completed",task="process_payment"} 1.0' in text
