"""A merchant's users, managed by its owners and admins."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_principal, merchant_id, requires
from api.responses import config, db, json_response, run_create
from api.schemas.accounts import AccountListArgs, UserCreateSchema, UserSchema, UserUpdateSchema
from api.schemas.common import list_envelope
from shared.users import service as user_service

blp = Blueprint("users", __name__, description="Users of the merchant's account and their roles")


@blp.route("/users")
class Users(MethodView):
    @requires("users.write")
    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserSchema)
    def post(self, data):
        """Add a user (owner, admin); the password is at least 12 characters"""
        mid, cfg, actor = merchant_id(), config(), current_principal().actor
        return run_create(lambda s: user_service.create_user(
            s, cfg, mid, email=data["email"], name=data["name"], role=data["role"],
            password=data["password"], actor=actor), user_service.user_object)

    @requires("users.read")
    @blp.arguments(AccountListArgs, location="query")
    @blp.response(200, UserSchema(many=True))
    def get(self, args):
        """List users, newest first"""
        with db().transaction() as session:
            page = user_service.list_users(session, merchant_id(), args)
            return json_response(list_envelope(
                [user_service.user_object(u) for u in page.rows], page.has_more))


@blp.route("/users/<user_id>")
class UserById(MethodView):
    @requires("users.read")
    @blp.response(200, UserSchema)
    def get(self, user_id):
        """Retrieve a user"""
        with db().transaction() as session:
            return json_response(user_service.user_object(
                user_service.get_user(session, merchant_id(), user_id)))

    @requires("users.write")
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    def patch(self, data, user_id):
        """Change a user's role or status (the last active owner stays an active owner);
        disabling a user ends their sessions"""
        principal = current_principal()
        with db().transaction() as session:
            user = user_service.update_user(session, merchant_id(), user_id, data,
                                            actor=principal.actor,
                                            actor_role=principal.role)
            body = user_service.user_object(user)
        return json_response(body)
