"""The merchant dashboard, ``/dashboard/``: server-rendered pages over the same services as
the API (payments, refunds, orders, webhooks, users, audit), for a signed-in user."""
from __future__ import annotations

from flask import Blueprint

from web.security import protect

dashboard = Blueprint("dashboard", __name__, url_prefix="/dashboard",
                      template_folder="../templates")
protect(dashboard)


@dashboard.context_processor
def _page_context():
    from web.dashboard.session_auth import can, current_user, livemode, user_zone
    return {"can": can, "me": current_user(), "tz": user_zone(), "live": livemode()}


from web.dashboard import (  # noqa: E402,F401  (routes register on the blueprint)
    account_pages,
    developer_pages,
    ledger_pages,
    money_pages,
    sign_in,
)
