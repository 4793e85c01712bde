"""Writing JSON answers, and running a create under Idempotency-Key (SPEC "Idempotency")."""
from __future__ import annotations

import json
from collections.abc import Callable

from flask import Response, current_app, request

from api.audit_trail import audit_change
from api.auth import livemode, merchant_id
from api.errors import error_body
from shared.errors import GatewayError
from shared.idempotency import service as idempotency


def json_response(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status=status,
                    mimetype="application/json")


def db():
    return current_app.extensions["gateway.db"]


def config():
    return current_app.extensions["gateway.config"]


# Client errors worth replaying; a 409/429/5xx may succeed later, so the key is released.
_REPLAYABLE_ERRORS = {400, 403, 404, 422}


def run_create(handler: Callable, serialize: Callable, status: int = 201,
               audit: str | None = None) -> Response:
    """Run ``handler(session)`` in one transaction and answer ``serialize(result)``. With an
    Idempotency-Key the stored answer commits in the same transaction as the object.
    ``audit`` names the audit-log action written in that transaction (not on a replay)."""
    key = request.headers.get("Idempotency-Key")
    database = db()
    if key is None:
        with database.transaction() as session:
            body = serialize(handler(session))
            if audit:
                audit_change(session, audit, body.get("id"))
        return json_response(body, status)

    # A live request never replays a test answer (nor the reverse): the same key used in
    # the other mode is "reused with different parameters". Test fingerprints are unchanged.
    scope = request.path + (" livemode" if livemode() else "")
    fingerprint = idempotency.request_fingerprint(request.method, scope,
                                                  request.get_json(silent=True))
    claimed = idempotency.claim(database, merchant_id(), key, fingerprint)
    if isinstance(claimed, idempotency.Replay):
        response = Response(claimed.body, status=claimed.status, mimetype="application/json")
        response.headers["Idempotent-Replayed"] = "true"
        return response
    try:
        with database.transaction() as session:
            body = serialize(handler(session))
            if audit:
                audit_change(session, audit, body.get("id"))
            text = json.dumps(body, separators=(",", ":"))
            idempotency.complete(session, claimed, status, text)
    except GatewayError as exc:
        if exc.status in _REPLAYABLE_ERRORS:
            idempotency.store_answer(database, claimed, exc.status, json.dumps(
                error_body(exc.type, exc.code, exc.message, exc.param)))
        else:
            idempotency.release(database, claimed)
        raise
    except BaseException:
        idempotency.release(database, claimed)
        raise
    return Response(text, status=status, mimetype="application/json")
