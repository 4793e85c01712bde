"""Authentication and roles: an API key (``Authorization: Bearer <secret>`` or Basic
``key_id:secret``) or a user's access token (``Authorization: Bearer <JWT>``).

Verified credentials are cached in-process for ``AUTH_CACHE_TTL_S`` seconds (default 5) to
keep a database round trip off every request; a revoked key, a disabled user or an ended
session is refused everywhere within that time.

Every route declares what it does with ``@requires("<action>")``; the roles table in
``shared.users.roles`` says who may (else 403 ``insufficient_role``).
"""
from __future__ import annotations

import base64
import binascii
import time
from functools import wraps

from flask import current_app, g, request

from shared.errors import AuthenticationFailed, PermissionDenied
from shared.merchants.credentials import Principal, authenticate_secret, hash_secret
from shared.users import roles
from shared.users.tokens import looks_like_jwt


def _parse_authorization(header: str) -> tuple[str | None, str]:
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return None, value
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise AuthenticationFailed("Malformed Basic credentials.") from None
        key_id, sep, secret = decoded.partition(":")
        if not sep or not key_id or not secret:
            raise AuthenticationFailed("Basic credentials must be key_id:key_secret.")
        return key_id, secret
    raise AuthenticationFailed("Use 'Authorization: Bearer <API key>' or Basic key_id:secret.")


class KeyCache:
    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[str, tuple[float, Principal]] = {}

    def get(self, cache_key: str) -> Principal | None:
        entry = self._entries.get(cache_key)
        if entry and entry[0] > time.monotonic():
            return entry[1]
        return None

    def put(self, cache_key: str, principal: Principal) -> None:
        if self.ttl_s > 0:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[cache_key] = (time.monotonic() + self.ttl_s, principal)


def authenticate_request() -> Principal:
    header = request.headers.get("Authorization")
    if not header:
        raise AuthenticationFailed("No API key provided.", code="missing_api_key")
    key_id, secret = _parse_authorization(header)
    cache: KeyCache = current_app.extensions["gateway.key_cache"]
    cache_key = f"{key_id or ''}:{hash_secret(secret)}"
    principal = cache.get(cache_key)
    if principal is None:
        db = current_app.extensions["gateway.db"]
        with db.engine.connect() as conn:
            from sqlalchemy.orm import Session
            with Session(bind=conn) as session:
                if key_id is None and looks_like_jwt(secret):
                    from shared.users.service import principal_for_access_token
                    principal = principal_for_access_token(
                        session, current_app.extensions["gateway.config"], secret)
                else:
                    principal = authenticate_secret(session, secret, key_id)
        if principal is None:
            raise AuthenticationFailed("Invalid or revoked API key.")
        cache.put(cache_key, principal)
    return principal


def current_principal() -> Principal:
    principal = g.get("principal")
    if principal is None:
        principal = authenticate_request()
        g.principal = principal
    return principal


# Who may call a route, declared where the route is: ``@access(PUBLIC)`` on a view (a
# MethodView class or a function) or, for a whole blueprint, at its registration
# (``declare_blueprint_access``); a view's own declaration wins. Enforced once, before every
# /api/v1 request, by ``enforce_access`` (the app factory); read by the rate limiter and the
# OpenAPI document.
PUBLIC, MERCHANT, OPERATOR = "public", "merchant", "operator"


def _checked(level: str) -> str:
    if level not in (PUBLIC, MERCHANT, OPERATOR):
        raise ValueError(f"unknown access level {level!r}")
    return level


def access(level: str):
    def declare(view):
        view.gateway_access = _checked(level)
        return view
    return declare


def declare_blueprint_access(app, blueprint_name: str, level: str) -> None:
    app.extensions.setdefault("gateway.blueprint_access", {})[blueprint_name] = _checked(level)


def access_of(app, endpoint: str | None) -> str | None:
    """The declared access of ``endpoint`` (None when nothing declares one)."""
    view = app.view_functions.get(endpoint) if endpoint else None
    if view is None:
        return None
    level = getattr(getattr(view, "view_class", view), "gateway_access", None)
    if level is None and "." in endpoint:
        level = app.extensions.get("gateway.blueprint_access", {}).get(endpoint.split(".")[0])
    return level


def request_access() -> str:
    """The access of this request's route; a path no route matches (a 404, or a 405 with
    another method) needs what the route under that path needs, and a merchant credential
    when there is none, so a caller without one learns nothing about what exists. Worked
    out once per request (the rate limiter asks before ``enforce_access`` does)."""
    level = g.get("route_access")
    if level is None:
        level = g.route_access = _route_access()
    return level


def _route_access() -> str:
    endpoint = request.endpoint
    if endpoint is None:
        adapter = current_app.url_map.bind_to_environ(request.environ)
        methods = adapter.allowed_methods(request.path)
        if methods:
            try:
                endpoint = adapter.match(request.path, method=sorted(methods)[0])[0]
            except Exception:  # noqa: BLE001  (no route after all: the default applies)
                endpoint = None
    return access_of(current_app, endpoint) or MERCHANT


def enforce_access() -> None:
    """Before every /api/v1 request: the credential its route declares."""
    if not request.path.startswith("/api/v1/"):
        return
    level = request_access()
    if level == PUBLIC:
        return
    principal = current_principal()
    if level == OPERATOR:
        if not principal.is_operator:
            raise PermissionDenied("This endpoint needs an operator credential.")
    elif principal.merchant_id is None:
        raise PermissionDenied("This endpoint needs a merchant API key.")


def merchant_id() -> str:
    return current_principal().merchant_id  # type: ignore[return-value]


def requires(action: str):
    """Declare the action a view performs; refuse callers whose role may not (403
    ``insufficient_role``). Checked before the body is parsed, so a refused caller learns
    nothing about the request's validity."""
    if action not in roles.ACTIONS:
        raise ValueError(f"unknown action {action!r}")

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            principal = current_principal()
            if principal.merchant_id is None:
                raise PermissionDenied("This endpoint needs a merchant credential.")
            # a user is judged by their role, an API key by the "api_key" column
            if not roles.can(principal.role, action):
                raise PermissionDenied(
                    f"The {principal.role} role may not do {action}.",
                    code="insufficient_role")
            g.required_action = action
            return view(*args, **kwargs)
        wrapper.required_action = action  # type: ignore[attr-defined]
        return wrapper
    return decorate


def users_only(view):
    """Routes about the signed-in person (/me, logout): an API key is not a person."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_principal().is_user:
            raise PermissionDenied("This endpoint needs a user's access token.",
                                   code="user_token_required")
        return view(*args, **kwargs)
    return wrapper


def livemode() -> bool:
    """The caller's mode (SPEC "Test and live mode"): a test credential sees test objects."""
    return current_principal().livemode


def with_mode(values: dict) -> dict:
    """Request data or list arguments, with the caller's mode for the service to apply."""
    return {**values, "livemode": livemode()}
