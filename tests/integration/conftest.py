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
