"""Benchmark and fault-injection harness: ``make bench`` (bench.run) and ``make chaos``
(bench.chaos). Starts real PostgreSQL, Redis, gunicorn and Celery on loopback, reusing the test
harness in ``tests/harness``, and ends every process it starts."""
