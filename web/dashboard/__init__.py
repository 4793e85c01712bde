"""The merchant dashboard, ``/dashboard/``: server-rendered pages over the same services as
the API (payments, refunds, orders, webhooks, users, audit), for a signed-in user.

Each page module adds its routes to the blueprint (``web.dashboard.blueprint``); importing
them here is what registers them."""
from __future__ import annotations

from web.dashboard import (  # noqa: F401  (routes register on the blueprint)
    account_pages,
    developer_pages,
    ledger_pages,
    money_pages,
    sign_in,
)
from web.dashboard.blueprint import dashboard

__all__ = ["dashboard"]
