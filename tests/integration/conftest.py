"""Integration fixtures shared by several test modules (append new ones below)."""
from __future__ import annotations

import pytest

from tests.harness.receiver import Answer, Receiver


@pytest.fixture
def make_receiver():
    """Start local webhook receivers; every one is stopped at the end of the test."""
    started = []

    def make(default: Answer | None = None) -> Receiver:
        receiver = Receiver(default).start()
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        receiver.stop()


@pytest.fixture
def start_beat(base_env, flush_redis):
    """Start a real Celery beat process; stopped at the end of the test."""
    from tests.harness import processes
    started = []

    def start(**env):
        proc = processes.beat({**base_env, **env}).start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()
