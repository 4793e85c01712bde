"""Test and live mode (SPEC "Test and live mode").

Every key, session, order, payment, refund, event and webhook endpoint is test or live. A
credential sees only objects of its own mode: the HTTP layer hands its mode to the services
(``data["livemode"]``, ``args["livemode"]``, ``livemode=``) and they filter on it. The sandbox
provider exists only in test mode, and a production gateway never picks it by default.
"""
from __future__ import annotations

from shared.config import Config
from shared.errors import InvalidRequest

SANDBOX = "sandbox"


def choose_provider(config: Config, requested: str | None, livemode: bool) -> str:
    """The provider a new payment uses: the one named, else the sandbox, but only in test
    mode outside production."""
    if requested == SANDBOX and livemode:
        raise InvalidRequest("The sandbox provider exists only in test mode; use a test key "
                             "or name a real provider.", code="provider_unavailable",
                             param="provider")
    if requested:
        return requested
    if livemode:
        raise InvalidRequest("Live payments must name their provider.",
                             code="provider_unavailable", param="provider")
    if config.is_production:
        raise InvalidRequest("This gateway runs in production: name the provider (the "
                             "sandbox is never chosen by default).",
                             code="provider_unavailable", param="provider")
    return SANDBOX


def in_mode(obj, livemode: bool | None) -> bool:
    """Does ``obj`` belong to the caller's mode? ``None``: no mode filter (workers)."""
    return livemode is None or bool(obj.livemode) == livemode
