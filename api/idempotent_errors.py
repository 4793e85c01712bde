"""Schema errors under an Idempotency-Key are stored and replayed like any other 400.

A create's body is validated (flask-smorest's ``@blp.arguments``) before the handler and its
``run_create`` claim the key, so without this a 400 for a bad body would leave the key
unused: SPEC "Idempotency" says client errors are replayed, and a later request with the same
key but other parameters must get 422, not a fresh answer. Only creates (a POST documented
with 201, the operations ``run_create`` serves) take part.
"""
from __future__ import annotations

import json

from flask import Response, current_app, g, request

from shared.errors import GatewayError
from shared.idempotency import service as idempotency


def _is_create() -> bool:
    if request.method != "POST" or request.endpoint is None:
        return False
    view = current_app.view_functions.get(request.endpoint)
    method = getattr(getattr(view, "view_class", None), "post", None)
    responses = getattr(method, "_apidoc", {}).get("response", {}).get("responses", {})
    return 201 in responses


def stored_or_replayed(error: GatewayError, body: dict) -> Response | None:
    """Store this validation answer under the request's Idempotency-Key and return None (the
    caller answers as usual), or return the replay of an earlier answer. Raises the 409/422
    of a key in flight or reused with other parameters."""
    key = request.headers.get("Idempotency-Key")
    principal = g.get("principal")
    if key is None or principal is None or principal.merchant_id is None or not _is_create():
        return None
    database = current_app.extensions["gateway.db"]
    fingerprint = idempotency.request_fingerprint(request.method, request.path,
                                                  request.get_json(silent=True))
    claimed = idempotency.claim(database, principal.merchant_id, key, fingerprint)
    if isinstance(claimed, idempotency.Replay):
        response = Response(claimed.body, status=claimed.status, mimetype="application/json")
        response.headers["Idempotent-Replayed"] = "true"
        return response
    idempotency.store_answer(database, claimed, error.status,
                             json.dumps(body, separators=(",", ":")))
    return None
