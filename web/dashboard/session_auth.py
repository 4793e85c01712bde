"""Who is signed in to the dashboard. The cookie session (signed, HttpOnly, SameSite=Lax)
holds the access and refresh tokens the accounts service issued at login; every request
checks the access token with ``principal_for_access_token`` (a disabled user or an ended
session stops working), and an expired one is refreshed once through ``refresh_session``,
with its rotation and reuse detection. No second copy of any account rule lives here."""
from __future__ import annotations

from functools import wraps

from flask import current_app, g, redirect, request, session, url_for

from shared.errors import AuthenticationFailed, PermissionDenied
from shared.merchants.credentials import Principal
from shared.users import roles
from shared.users import service as users
from shared.users.models import User


def db():
    return current_app.extensions["gateway.db"]


def config():
    return current_app.extensions["gateway.config"]


def sign_in(issued: users.IssuedSession) -> None:
    session.clear()
    session["access_token"] = issued.access_token
    session["refresh_token"] = issued.refresh_token


def sign_out() -> None:
    session.clear()


def _principal() -> Principal | None:
    access = session.get("access_token")
    if not access:
        return None
    try:
        with db().transaction() as s:
            return users.principal_for_access_token(s, config(), access)
    except AuthenticationFailed:
        pass
    refresh = session.get("refresh_token")
    if not refresh:
        return None
    try:
        issued = users.run_keeping_failures(
            db(), lambda s: users.refresh_session(s, config(), refresh))
    except AuthenticationFailed:
        sign_out()
        return None
    sign_in(issued)
    with db().transaction() as s:
        return users.principal_for_access_token(s, config(), issued.access_token)


def current_principal() -> Principal | None:
    if "dashboard_principal" not in g:
        g.dashboard_principal = _principal()
    return g.dashboard_principal


def current_user() -> User | None:
    principal = current_principal()
    if principal is None or principal.user_id is None:
        return None
    if "dashboard_user" not in g:
        with db().transaction() as s:
            g.dashboard_user = s.get(User, principal.user_id)
    return g.dashboard_user


def merchant_id() -> str:
    principal = current_principal()
    assert principal is not None and principal.merchant_id is not None
    return principal.merchant_id


def livemode() -> bool:
    """The signed-in session's mode (test unless the user signed in to live mode): the
    dashboard sees only objects of that mode, as the API does for the same token."""
    principal = current_principal()
    return bool(principal and principal.livemode)


def with_mode(values: dict) -> dict:
    return {**values, "livemode": livemode()}


def audit(session, action: str, object_id: str | None) -> None:
    """The audit row of a dashboard change, by the signed-in user, in the change's
    transaction, named like the API's (``refund.create``, ``webhook_log.retry``, ...)."""
    from shared.audit.service import record_audit
    principal = current_principal()
    assert principal is not None
    record_audit(session, actor=principal.actor, action=action, object_id=object_id,
                 merchant_id=principal.merchant_id)


def can(action: str) -> bool:
    principal = current_principal()
    return principal is not None and roles.can(principal.role, action)


def require(action: str) -> None:
    """The roles table, as the API applies it: 403 ``insufficient_role`` otherwise."""
    principal = current_principal()
    if principal is None or not roles.can(principal.role, action):
        role = principal.role if principal else "anonymous"
        raise PermissionDenied(f"The {role} role may not do {action}.",
                               code="insufficient_role")


def login_required(action: str = "payments.read"):
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if current_principal() is None:
                return redirect(url_for("dashboard.login", next=request.full_path))
            require(action)
            return view(*args, **kwargs)
        return wrapper
    return decorate


def user_zone() -> str:
    """The user's IANA time zone, as their browser reported it (dashboard.js sets the
    ``tz`` cookie); UTC until it has."""
    from web.formatting import zone
    name = request.cookies.get("tz", "UTC")[:64]
    return zone(name).key
