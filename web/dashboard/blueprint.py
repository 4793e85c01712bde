"""The dashboard's blueprint object, apart from the package so the page modules that add
routes to it import it without importing each other (``web.dashboard`` gathers them)."""
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
