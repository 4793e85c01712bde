"""Phases 3 (end to end) and 4 (webhook fan-out): need merchant webhook delivery."""
from __future__ import annotations

import importlib.util


def missing() -> str | None:
    if importlib.util.find_spec("worker.webhook_tasks") is None:
        return "merchant webhook delivery (worker/webhook_tasks.py) is not in this tree yet"
    return None
