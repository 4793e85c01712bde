"""Fixtures for the protection tests: apps built with protection settings overridden."""
from __future__ import annotations

import pytest


@pytest.fixture
def make_app(config, db, published):
    """``make_app(rate_limit="5/second", ...)``: an app on the real PostgreSQL and Redis with
    some settings changed."""
    from api import create_app

    def make(**overrides):
        application = create_app(config.with_overrides(**overrides), db=db,
                                 publish=lambda task, args, queue: published.append(
                                     (task, args, queue)))
        application.testing = True
        return application
    return make


# Local webhook receivers, the same fixture the integration tests use.
from tests.integration.conftest import make_receiver  # noqa: E402,F401


@pytest.fixture
def smtp_server():
    from tests.harness.smtp import SmtpServer
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def twilio():
    from tests.simulators.twilio_sim import TwilioSimulator
    simulator = TwilioSimulator().start()
    yield simulator
    simulator.stop()
