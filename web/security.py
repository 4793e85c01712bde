"""Browser-facing defences for every web page: a CSRF token on every form, a
Content-Security-Policy without inline scripts, and no framing.

The CSRF token lives in the signed, HttpOnly session cookie and is compared in constant time
with the ``csrf_token`` field each form posts. SameSite=Lax already keeps other sites' POSTs
from carrying the cookie; the token is the second lock.
"""
from __future__ import annotations

import hmac
import secrets

from flask import Blueprint, abort, g, request, session

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"


def csrf_token() -> str:
    token = session.get(CSRF_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return token


def csrf_exempt(view):
    """For posts a third party makes with its own proof (a provider's signed callback)."""
    view.csrf_exempt = True
    return view


def _check_csrf() -> None:
    if request.method in SAFE_METHODS:
        return
    from flask import current_app
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "csrf_exempt", False):
        return
    sent = request.form.get(CSRF_FIELD, "")
    expected = session.get(CSRF_FIELD, "")
    if not expected or not sent or not hmac.compare_digest(sent, expected):
        abort(403, description="The form expired or did not come from this site "
                               "(CSRF token missing or wrong). Reload the page and try again.")


def _refuse_nul() -> None:
    """PostgreSQL text cannot hold NUL: refuse it in any form field or query value before a
    service sees it (a clear 400, not a database error)."""
    values = list(request.args.values())
    if request.method not in SAFE_METHODS:
        values += list(request.form.values())
    if any("\x00" in value for value in values):
        abort(400, description="Form fields and query values must not contain NUL "
                               "characters.")


def content_security_policy(form_action: tuple[str, ...] = (),
                            script_src: tuple[str, ...] = ()) -> str:
    """Never 'unsafe-inline'. A page may add one provider origin: the form target of
    Razorpay's hosted checkout, or Cashfree's checkout script (Cashfree opens its checkout
    only through its own script)."""
    forms = " ".join(("'self'",) + form_action)
    scripts = " ".join(("'self'",) + script_src)
    return (f"default-src 'self'; script-src {scripts}; style-src 'self'; "
            f"img-src 'self' data:; connect-src 'self'; form-action {forms}; "
            "frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


def _headers(response):
    response.headers["Content-Security-Policy"] = content_security_policy(
        g.get("csp_form_action", ()), g.get("csp_script_src", ()))
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    return response


def protect(blueprint: Blueprint) -> None:
    blueprint.before_request(_refuse_nul)
    blueprint.before_request(_check_csrf)
    blueprint.after_request(_headers)
    blueprint.app_context_processor(lambda: {"csrf_token": csrf_token})
    handle_errors_as_pages(blueprint)


def render_error_page(status: int, title: str, message: str):
    from flask import render_template
    return render_template("error.html", status=status, title=title, message=message), status


def _http_error(error):
    status = error.code or 500
    return render_error_page(status, error.name, error.description or error.name)


def _gateway_error(error):
    return render_error_page(error.status, error.code.replace("_", " ").capitalize(),
                             error.message)


def _unexpected(error):
    import logging
    logging.getLogger("web.errors").exception("unhandled error on a web page")
    return render_error_page(500, "Something went wrong",
                             "It has been logged. Please try again in a moment.")


def handle_errors_as_pages(blueprint: Blueprint) -> None:
    from werkzeug.exceptions import HTTPException

    from shared.errors import GatewayError
    blueprint.register_error_handler(HTTPException, _http_error)
    blueprint.register_error_handler(GatewayError, _gateway_error)
    blueprint.register_error_handler(Exception, _unexpected)
