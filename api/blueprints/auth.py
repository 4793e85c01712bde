"""Sign-up, login, refresh and logout (SPEC "Accounts, sessions and roles")."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import PUBLIC, access, current_principal, users_only
from api.responses import config, db, json_response
from api.schemas.accounts import (
    LoggedOutSchema,
    LoginSchema,
    LogoutSchema,
    RefreshSchema,
    RegisterSchema,
    SessionSchema,
)
from api.schemas.common import ErrorSchema
from shared.users import service as user_service

blp = Blueprint("auth", __name__, description="Users' sessions: register, login, refresh, logout")


@blp.route("/auth/register")
@access(PUBLIC)
class Register(MethodView):
    @blp.doc(security=[])
    @blp.arguments(RegisterSchema)
    @blp.response(201, SessionSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="Signup is closed (ALLOW_SIGNUP)")
    def post(self, data):
        """Create a merchant and its owner, and sign the owner in (when ALLOW_SIGNUP)"""
        with db().transaction() as session:
            issued = user_service.register(
                session, config(), merchant_name=data["merchant_name"], email=data["email"],
                password=data["password"], name=data.get("name"))
            body = user_service.session_object(issued)
        return json_response(body, 201)


@blp.route("/auth/login")
@access(PUBLIC)
class Login(MethodView):
    @blp.doc(security=[])
    @blp.arguments(LoginSchema)
    @blp.response(200, SessionSchema)
    @blp.alt_response(401, schema=ErrorSchema,
                      description="invalid_credentials: unknown email or wrong password")
    def post(self, data):
        """Sign in with email and password (the same 401 for an unknown email or a wrong
        password; 429 after too many failures for one email)"""
        cfg = config()
        issued = user_service.run_keeping_failures(db(), lambda s: user_service.login(
            s, cfg, data["email"], data["password"], livemode=data["livemode"]))
        return json_response(user_service.session_object(issued))


@blp.route("/auth/refresh")
@access(PUBLIC)
class Refresh(MethodView):
    @blp.doc(security=[])
    @blp.arguments(RefreshSchema)
    @blp.response(200, SessionSchema)
    @blp.alt_response(401, schema=ErrorSchema,
                      description="An unknown, expired or reused refresh token (reuse revokes "
                                  "the whole chain)")
    def post(self, data):
        """Use a refresh token once for a new pair; a reused one revokes the whole session"""
        cfg = config()
        issued = user_service.run_keeping_failures(db(), lambda s: user_service.refresh_session(
            s, cfg, data["refresh_token"]))
        return json_response(user_service.session_object(issued))


@blp.route("/auth/logout")
class Logout(MethodView):
    @users_only
    @blp.arguments(LogoutSchema)
    @blp.response(200, LoggedOutSchema)
    def post(self, _data):
        """End this session: its refresh chain is revoked and its access tokens stop"""
        principal = current_principal()
        with db().transaction() as session:
            user_service.end_session(session, principal)
        return json_response({"object": "session", "revoked": True})
