"""gunicorn settings the gateway relies on: ``gunicorn -c python:api.gunicorn_conf api.wsgi:app``
(command-line flags such as --bind and --workers still apply on top).

- gunicorn writes no access log of its own unless ``GUNICORN_ACCESS_LOG`` names a file (``-``
  for stdout) or ``--access-logfile`` is given: the app's ``api.access`` log line (request id,
  route, status, duration; at INFO) is the access log. A second line per request cost ~5 % of
  a request's CPU (``make bench`` profile, 2026-12-06).
- When it does write one, it never prints the HTTP Basic user (``%(u)s``): for
  ``curl -u sk_...:`` that user *is* the whole API key, written even on a 401. Nor headers,
  nor the query string (``%(U)s`` is the path alone).
- With ``PROMETHEUS_MULTIPROC_DIR`` set, a worker that exits is marked dead so its live
  samples leave the aggregate (docs/operations.md, "Metrics").
"""
from __future__ import annotations

import os

accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)
