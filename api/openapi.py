"""The OpenAPI document, made true to what the API answers.

flask-smorest builds the document from the marshmallow schemas the blueprints declare. Its
defaults describe a different API (422 for validation, bare arrays for lists, its own error
shape), so ``truthful`` rewrites every operation of every blueprint by the rules the code
follows; a new flask-smorest blueprint is covered without any change here:

* every error is ``{"error": {type, code, message, param, request_id}}`` (``Error``), and the
  statuses an operation can answer are listed: 400 when it takes parameters or a body (never
  422 for validation), 401/403 under ``/api/v1/`` unless public, 404 with a path parameter,
  409 for writes, 413/415 with a body, 500;
* a ``Schema(many=True)`` response is the list envelope ``{"object": "list", "data": [...],
  "has_more": bool}`` the handlers send;
* a POST answering 201 runs under ``Idempotency-Key`` (``api.responses.run_create``): the
  header is documented, with 409 (in flight), 422 (reused with other parameters) and the
  ``Idempotent-Replayed`` answer header;
* every operation accepts and every answer carries ``X-Request-Id``.

A new endpoint stays truthful when it is a flask-smorest ``MethodView`` registered through
``api.register_blueprint`` and declares ``@blp.arguments(Schema)`` for its body (and
``location="query"`` for its filters) and ``@blp.response(status, Schema)`` for its success
(``Schema(many=True)`` for a list answered with ``list_envelope``), with the response schema
listing exactly the keys it sends (``@always_present(...)`` for the ones always there). The
tests then check every answer against the document (``api.response_check``) and
schemathesis generates requests for it. A cross-cutting status (a rate limit's 429) goes into
``EXTRA_ERROR_STATUSES``.

Routes outside flask-smorest (health, readiness, metrics, the checkout return) are added by
``document_root_routes``. The docs UI's assets come from the ``swagger-ui-bundle`` package,
served by the app itself (``/docs/assets/``), never from a CDN.
"""
from __future__ import annotations

import copy
import re

from flask import Blueprint, Flask, send_from_directory
from flask_smorest import Api

from api.auth import PUBLIC, access_of
from api.schemas.common import ErrorSchema

DOCS_PREFIX = "/docs"
ASSETS_PATH = "/assets/"
METHODS = ("get", "post", "put", "patch", "delete")
# Statuses every operation of a given kind may answer because of a cross-cutting feature:
# the input guards (api/input_guards.py) answer 400 to a NUL character or JSON nested too
# deep anywhere in a request, before routing; the rate limits (api/protection.py) answer 429
# on any route, per credential or per IP.
EXTRA_ERROR_STATUSES: dict[str, tuple[int, ...]] = {"authenticated": (), "any": (400, 429)}

_DESCRIPTIONS = {
    400: "Invalid request: a parameter is missing, of the wrong type or out of range, or "
         "the body is not valid JSON",
    401: "No API key, or an invalid or revoked one",
    403: "The credential may not use this endpoint (merchant key vs operator key)",
    404: "No such object for this merchant (another merchant's ids are never found)",
    409: "Conflicts with the object's current state, or the same Idempotency-Key is still "
         "in flight",
    413: "The request body is larger than MAX_CONTENT_LENGTH",
    415: "The body is not JSON (send Content-Type: application/json)",
    422: "The Idempotency-Key was used before with other parameters",
    429: "Too many requests",
    500: "Something went wrong on our side; the error is logged under its request_id",
    503: "A dependency (database, broker) is unavailable",
}
_PATH_PARAM = re.compile(r"\{[^}]+\}")


def ui_assets_folder() -> str:
    import swagger_ui_bundle
    return swagger_ui_bundle.swagger_ui_path


def configure(app: Flask) -> None:
    """OpenAPI settings for flask-smorest (call before ``Api(app)``)."""
    app.config.update(
        API_TITLE="Payment Gateway API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=DOCS_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/",
        OPENAPI_SWAGGER_UI_URL=DOCS_PREFIX + ASSETS_PATH,
        API_SPEC_OPTIONS={
            "info": {"description": "Amounts are integers in the currency's minor unit. "
                                    "Every error has the shape of the Error schema."},
            "components": {"securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {"type": "http", "scheme": "basic"}}},
            "security": [{"bearer": []}, {"basic": []}],
        },
    )
    assets = Blueprint("docs_assets", __name__)

    @assets.get(DOCS_PREFIX + ASSETS_PATH + "<path:filename>")
    def docs_asset(filename: str):
        return send_from_directory(ui_assets_folder(), filename, max_age=3600)

    app.register_blueprint(assets)


class GatewayApi(Api):
    """flask-smorest's Api with our error schema and the truthful document."""

    ERROR_SCHEMA = ErrorSchema

    def __init__(self, app: Flask) -> None:
        self.flask_app = app
        # Routes that are plain Flask views, documented by hand (document_root_routes).
        self.extra_paths: dict[str, dict] = {}
        super().__init__(app)

    def _init_spec(self, **kwargs):
        super()._init_spec(**kwargs)
        raw_to_dict = self.spec.to_dict

        def to_dict() -> dict:
            raw = raw_to_dict()
            raw.setdefault("paths", {}).update(copy.deepcopy(self.extra_paths))
            return truthful(raw, public_paths(self.flask_app))

        self.spec.to_dict = to_dict  # type: ignore[method-assign]


def public_paths(app: Flask) -> tuple[str, ...]:
    """The document's paths of the /api/v1 routes that declare PUBLIC access."""
    return tuple(sorted({re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
                         for rule in app.url_map.iter_rules()
                         if access_of(app, rule.endpoint) == PUBLIC}))


# -- rewriting the document ---------------------------------------------------------------

def _error_response(status: int) -> dict:
    return {"$ref": f"#/components/responses/Error{status}"}


def _add_components(doc: dict) -> None:
    components = doc.setdefault("components", {})
    responses = components.setdefault("responses", {})
    # flask-smorest's generic ones are replaced by one per status, each with our Error.
    for name in ("DEFAULT_ERROR", "UNPROCESSABLE_ENTITY", "UNPROCESSABLE_CONTENT"):
        responses.pop(name, None)
    for status, description in _DESCRIPTIONS.items():
        responses[f"Error{status}"] = {
            "description": description,
            "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"},
                        "Idempotent-Replayed": {
                            "$ref": "#/components/headers/Idempotent-Replayed"}},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    components.setdefault("headers", {}).update({
        "X-Request-Id": {"description": "The request's id (yours if you sent a valid one); "
                                        "quote it to support",
                         "schema": {"type": "string", "maxLength": 64}},
        "Idempotent-Replayed": {"description": '"true" when this is the stored answer of an '
                                               "earlier request with the same Idempotency-Key",
                                "schema": {"type": "string", "enum": ["true"]}},
    })
    components.setdefault("parameters", {}).update({
        "Idempotency-Key": {
            "in": "header", "name": "Idempotency-Key", "required": False,
            "description": "Retry safely: the same key with the same parameters replays the "
                           "first answer (successes and 400/403/404 errors) for 24 hours.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255}},
        "X-Request-Id": {
            "in": "header", "name": "X-Request-Id", "required": False,
            "description": "Your id for this request (1 to 64 printable characters); echoed "
                           "in the answer and in error bodies",
            "schema": {"type": "string", "maxLength": 64}},
    })


def _list_envelope(doc: dict, items: dict) -> dict:
    """The component for ``{"object": "list", "data": [items], "has_more"}``."""
    ref = items.get("$ref", "")
    name = (ref.rsplit("/", 1)[-1] if ref else "Object") + "List"
    doc["components"].setdefault("schemas", {})[name] = {
        "type": "object",
        "properties": {"object": {"type": "string", "enum": ["list"]},
                       "data": {"type": "array", "items": items},
                       "has_more": {"type": "boolean"}},
        "required": ["object", "data", "has_more"],
        "additionalProperties": False,
    }
    return {"$ref": f"#/components/schemas/{name}"}


def _rewrite_operation(doc: dict, path: str, method: str, op: dict,
                       public_paths: tuple[str, ...]) -> None:
    responses = op.setdefault("responses", {})
    for key in ("422", "default"):
        responses.pop(key, None)
    success = {code: r for code, r in responses.items() if str(code).startswith("2")}
    for response in success.values():
        if "$ref" in response:
            continue
        for media in response.get("content", {}).values():
            schema = media.get("schema", {})
            if schema.get("type") == "array" and "items" in schema:
                media["schema"] = _list_envelope(doc, schema["items"])
        response.setdefault("headers", {})["X-Request-Id"] = {
            "$ref": "#/components/headers/X-Request-Id"}

    params = op.setdefault("parameters", [])
    authenticated = path.startswith("/api/v1/") and path not in public_paths
    has_body = "requestBody" in op
    takes_input = has_body or any(p.get("in") == "query" for p in params if "in" in p)
    statuses = {500, *EXTRA_ERROR_STATUSES["any"]}
    if takes_input or (method == "post" and not authenticated):
        statuses.add(400)  # a provider's callback with a bad signature is a 400 too
    if authenticated:
        statuses |= {401, 403, *EXTRA_ERROR_STATUSES["authenticated"]}
    pages = any(p.get("name") == "starting_after" for p in params if "name" in p)
    if _PATH_PARAM.search(path) or (has_body and authenticated) or pages:
        # a body may name another object (order_id, payment_id); so may a list's cursor
        statuses.add(404)
    if method in ("post", "put", "patch", "delete") and authenticated:
        statuses.add(409)
    if method in ("post", "put", "patch"):
        statuses |= {413, 415, 400}
    if method == "post" and "201" in {str(c) for c in success}:
        params.append({"$ref": "#/components/parameters/Idempotency-Key"})
        statuses |= {400, 409, 422}
        for response in success.values():
            response.setdefault("headers", {})["Idempotent-Replayed"] = {
                "$ref": "#/components/headers/Idempotent-Replayed"}
    params.append({"$ref": "#/components/parameters/X-Request-Id"})
    for status in sorted(statuses):
        responses.setdefault(str(status), _error_response(status))


def truthful(raw: dict, public_paths: tuple[str, ...] = ()) -> dict:
    doc = copy.deepcopy(raw)
    _add_components(doc)
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                _rewrite_operation(doc, path, method, item[method], public_paths)
    return doc


def document_root_routes(api: GatewayApi) -> None:
    """The routes outside flask-smorest, in the same document (their handlers are plain
    Flask views in api/blueprints/health.py, operations.py and payment_actions.py)."""
    from api.schemas.operations import CheckoutReturnSchema, HealthSchema, ReadySchema

    spec = api.spec
    for schema in (HealthSchema, ReadySchema, CheckoutReturnSchema):
        name = schema.__name__.removesuffix("Schema")
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=schema)

    def ref(name: str) -> dict:
        return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}

    paths = api.extra_paths
    paths["/health"] = {"get": {
        "summary": "Liveness: the process answers", "tags": ["health"], "security": [],
        "responses": {"200": {"description": "Alive", "content": ref("Health")}}}}
    paths["/ready"] = {"get": {
        "summary": "Readiness: database and broker reachable; which providers are available",
        "tags": ["health"], "security": [],
        "responses": {"200": {"description": "Ready", "content": ref("Ready")},
                      "503": {"description": "A dependency is down (the body says which, "
                                             "with an error)", "content": ref("Ready")}}}}
    paths["/metrics"] = {"get": {
        "summary": "Prometheus metrics (text exposition format); needs an operator key",
        "tags": ["health"],
        "responses": {"200": {"description": "Metrics", "content": {
            "text/plain": {"schema": {"type": "string"}}}},
            "401": {"description": _DESCRIPTIONS[401], "content": ref("Error")},
            "403": {"description": "Only an operator key may read metrics",
                    "content": ref("Error")}}}}
    paths["/checkout/return/{payment_id}"] = {"get": {
        "summary": "Where a provider's hosted page sends the customer back; asks a worker to "
                   "check the payment now and says its status",
        "tags": ["checkout"], "security": [],
        "parameters": [{"in": "path", "name": "payment_id", "required": True,
                        "schema": {"type": "string"}}],
        "responses": {"200": {"description": "The payment's status",
                              "content": ref("CheckoutReturn")},
                      "303": {"description": "The payment belongs to a hosted checkout "
                                             "session: back to its page, /pay/{id}"}}}}
