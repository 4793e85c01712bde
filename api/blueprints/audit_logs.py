"""The audit log: who changed what, newest first (owners and admins)."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import merchant_id, requires
from api.responses import db, json_response
from api.schemas.accounts import AuditLogListArgs, AuditLogSchema
from api.schemas.common import list_envelope
from shared.audit.service import audit_log_object, list_audit_logs

blp = Blueprint("audit_logs", __name__, description="Audit log: every change and who made it")


@blp.route("/audit_logs")
class AuditLogs(MethodView):
    @requires("audit_logs.read")
    @blp.arguments(AuditLogListArgs, location="query")
    @blp.response(200, AuditLogSchema(many=True))
    def get(self, args):
        """List audit log entries, newest first (filters: action, actor_id, object_id)"""
        with db().transaction() as session:
            page = list_audit_logs(session, merchant_id(), args)
            return json_response(list_envelope([audit_log_object(r) for r in page.rows],
                                               page.has_more))
