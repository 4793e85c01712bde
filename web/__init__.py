"""The gateway's web pages: the hosted checkout (``/pay/...``) and the merchant dashboard
(``/dashboard/...``). Server-rendered Jinja over the same domain services as the API; every
asset is served by the app itself (``/assets/...``)."""
from __future__ import annotations

from flask import Blueprint, Flask

from web import security
from web.formatting import register_filters

WEB_PREFIXES = ("/pay/", "/dashboard/", "/assets/")

assets = Blueprint("web_assets", __name__, static_folder="static", static_url_path="/assets")
security.protect(assets)


def register_web(app: Flask) -> None:
    config = app.extensions["gateway.config"]
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=config.is_production,
                      SESSION_COOKIE_NAME="gateway_session")
    register_filters(app)
    from web.checkout_pages import pages as checkout_pages
    from web.dashboard import dashboard
    for blueprint in (assets, checkout_pages, dashboard):
        app.register_blueprint(blueprint)
