"""gunicorn settings the gateway relies on: ``gunicorn -c python:api.gunicorn_conf api.wsgi:app``
(command-line flags such as --bind and --workers still apply on top).

- The access log never prints the HTTP Basic user (``%(u)s``): for ``curl -u sk_...:`` that
  user *is* the whole API key, written even on a 401. Nor headers, nor the query string
  (``%(U)s`` is the path alone).
- With ``PROMETHEUS_MULTIPROC_DIR`` set, a worker that exits is marked dead so its live
  samples leave the aggregate (docs/operations.md, "Metrics").
"""
from __future__ import annotations

import os

accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)
