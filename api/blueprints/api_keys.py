"""A merchant's API keys: issue (the secret is shown once), list, revoke."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_principal, merchant_id, requires
from api.responses import db, json_response, run_create
from api.schemas.accounts import AccountListArgs, ApiKeyCreateSchema, ApiKeySchema
from api.schemas.common import list_envelope
from shared.merchants import credentials
from shared.merchants.models import ApiKey

blp = Blueprint("api_keys", __name__, description="API keys of the merchant (secret shown once)")


@blp.route("/api_keys")
class ApiKeys(MethodView):
    @requires("api_keys.write")
    @blp.arguments(ApiKeyCreateSchema)
    @blp.response(201, ApiKeySchema)
    def post(self, data):
        """Issue an API key (sk_test_ or sk_live_); its secret is in this answer only"""
        principal = current_principal()
        livemode = data.get("livemode", principal.livemode)

        def issue(session):
            issued = credentials.issue_key(session, principal.merchant_id,
                                           actor=principal.actor, livemode=livemode)
            return issued, session.get(ApiKey, issued.key_id)
        return run_create(issue, lambda pair: credentials.api_key_object(
            pair[1], secret=pair[0].api_key))

    @requires("api_keys.read")
    @blp.arguments(AccountListArgs, location="query")
    @blp.response(200, ApiKeySchema(many=True))
    def get(self, args):
        """List API keys (their prefixes, never the secrets), newest first"""
        with db().transaction() as session:
            page = credentials.list_keys(session, merchant_id(), args)
            return json_response(list_envelope(
                [credentials.api_key_object(k) for k in page.rows], page.has_more))


@blp.route("/api_keys/<key_id>")
class ApiKeyById(MethodView):
    @requires("api_keys.write")
    @blp.response(200, ApiKeySchema)
    def delete(self, key_id):
        """Revoke an API key: refused everywhere within AUTH_CACHE_TTL_S"""
        principal = current_principal()
        with db().transaction() as session:
            key = credentials.revoke_key(session, key_id, actor=principal.actor,
                                         merchant_id=principal.merchant_id)
            body = credentials.api_key_object(key)
        return json_response(body)
