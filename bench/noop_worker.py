"""A Celery app with one no-op task on the gateway's broker settings: the ceiling a worker
could reach if processing a payment cost nothing (``celery -A bench.noop_worker worker``)."""
from __future__ import annotations

from shared.broker import make_celery
from shared.config import Config

celery = make_celery(Config.from_env(), name="bench-noop")
app = celery


@celery.task(name="bench.noop")
def noop(payment_id: str) -> None:
    return None
