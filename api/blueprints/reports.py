"""Settlement and summary reports (JSON, and CSV for settlement)."""
from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import merchant_id, requires
from api.blueprints.balance import livemode
from api.responses import db, json_response
from api.schemas.ledger import (
    ReportArgs,
    SettlementArgs,
    SettlementReportSchema,
    SummaryReportSchema,
)
from shared.reporting import reports

blp = Blueprint("reports", __name__, description="Reports: settlement per day, summary")


@blp.route("/reports/settlement")
class Settlement(MethodView):
    @requires("reports.read")
    @blp.arguments(SettlementArgs, location="query")
    @blp.response(200, SettlementReportSchema)
    @blp.doc(responses={"200": {"description": "The report (format=csv: the same rows as "
                                               "CSV with a header row)", "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/SettlementReport"}},
        "text/csv": {"schema": {"type": "string"}}}}})
    def get(self, args):
        """Per day and currency: gross, refunds, fees, net, payouts (format=json|csv)"""
        with db().transaction() as session:
            rows = reports.settlement(session, merchant_id(), args["start"], args["end"],
                                      livemode())
        if args["format"] == "csv":
            name = f"settlement_{args['start'].isoformat()}_{args['end'].isoformat()}.csv"
            return Response(reports.settlement_csv(rows), mimetype="text/csv", headers={
                "Content-Disposition": f'attachment; filename="{name}"'})
        return json_response({"object": "report.settlement", "from": args["start"].isoformat(),
                              "to": args["end"].isoformat(), "data": rows})


@blp.route("/reports/summary")
class Summary(MethodView):
    @requires("reports.read")
    @blp.arguments(ReportArgs, location="query")
    @blp.response(200, SummaryReportSchema)
    def get(self, args):
        """Counts and volume by status and provider, and the success rate"""
        with db().transaction() as session:
            return json_response(reports.summary(session, merchant_id(), args["start"],
                                                 args["end"], livemode()))
