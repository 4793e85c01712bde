"""Keep the log readable while idle: the periodic ticks (beat sending ``relay_outbox`` every
2 s, ``dispatch_due_webhooks`` every second, and the worker's "received" / "succeeded" lines
for them) are logged at DEBUG instead of INFO. With ``LOG_LEVEL=DEBUG`` they show again.

Under load, a worker's "received" line of every message says nothing its "succeeded" (or
retry, or failure) line a moment later does not: it is logged at DEBUG for every task, which
halves the lines per payment and per delivery (formatting and writing them was ~7-10 % of a
worker's CPU at 100 payments/s)."""
from __future__ import annotations

import logging

# Celery's loggers for beat's "Sending due task", a worker's "received" and "succeeded".
_RECEIVED_LOGGER = "celery.worker.strategy"
_CELERY_LOGGERS = ("celery.beat", _RECEIVED_LOGGER, "celery.app.trace")


class DemotePeriodicTicks(logging.Filter):
    def __init__(self, task_names: frozenset[str]) -> None:
        super().__init__()
        self.task_names = task_names

    def _is_tick(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, dict) and isinstance(args.get("name"), str):
            return args["name"] in self.task_names
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return False
        return any(name in message for name in self.task_names)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not (
                record.name == _RECEIVED_LOGGER or self._is_tick(record)):
            return True
        if not logging.getLogger().isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


def demote_periodic_ticks(beat_schedule: dict, every_under_s: float = 300.0) -> None:
    """Install the filter for every task in ``beat_schedule`` that runs more often than
    ``every_under_s`` (the hourly purges still log at INFO). Safe to call more than once."""
    names = frozenset(
        entry["task"] for entry in beat_schedule.values()
        if isinstance(entry.get("schedule"), (int, float))
        and float(entry["schedule"]) < every_under_s)
    for logger_name in _CELERY_LOGGERS:
        logger = logging.getLogger(logger_name)
        for existing in [f for f in logger.filters if isinstance(f, DemotePeriodicTicks)]:
            logger.removeFilter(existing)
        logger.addFilter(DemotePeriodicTicks(names))


def skip_received_records() -> None:
    """Below DEBUG the "received" line is dropped by ``DemotePeriodicTicks``, but only after
    Celery has built its record (~4 % of a webhooks worker's CPU at 100 deliveries/s). Celery's
    task strategy asks ``isEnabledFor(INFO)`` of its logger once, when the worker starts: with
    that logger at WARNING it builds no record at all. Call after the root level is set; at
    DEBUG the logger is left alone and the line shows, demoted, as before."""
    received = logging.getLogger(_RECEIVED_LOGGER)
    if logging.getLogger().isEnabledFor(logging.DEBUG):
        received.setLevel(logging.NOTSET)
    else:
        received.setLevel(logging.WARNING)
