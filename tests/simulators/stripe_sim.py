"""A Stripe API stand-in: form-encoded requests, Stripe-shaped JSON objects and errors.

Covers PaymentIntents (create+confirm, retrieve, search), Refunds (create, retrieve, list)
and signed webhook events. Idempotency-Key replays the stored response; a reused key with a
different body answers 400 ``idempotency_error``, as Stripe does.
"""
from __future__ import annotations

import json
import re
import time
from urllib.parse import parse_qsl

import stripe
from flask import Flask, Response, request

from tests.simulators.base import Delivery, SimulatorBase


def decode_form(raw: str) -> dict:
    """Stripe's bracketed form encoding (``metadata[k]=v``, ``types[0]=card``) -> nested."""
    root: dict = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _listify(root)


def _listify(node):
    if not isinstance(node, dict):
        return node
    if node and all(k.isdigit() for k in node):
        return [_listify(node[k]) for k in sorted(node, key=int)]
    return {k: _listify(v) for k, v in node.items()}


def _error(status: int, type_: str, message: str, **extra) -> Response:
    body = {"error": {"type": type_, "message": message, **extra}}
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _json(obj, status: int = 200) -> Response:
    return Response(json.dumps(obj), status=status, mimetype="application/json")


class StripeSimulator(SimulatorBase):
    name = "stripe"

    def __init__(self, secret_key: str, webhook_secret: str) -> None:
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.intents: dict[str, dict] = {}
        self.refund_objects: dict[str, dict] = {}
        self._idempotency: dict[tuple[str, str], tuple[str, int, str]] = {}
        self._require_action: list[str] = []
        super().__init__()

    # --- controls ----------------------------------------------------------------------

    def require_action_next(self) -> None:
        """The next confirmation needs a 3-D Secure redirect."""
        with self.lock:
            self._require_action.append("redirect")

    def customer_pays(self, intent_id: str) -> None:
        """The customer completes the 3-D Secure redirect."""
        with self.lock:
            intent = self.intents[intent_id]
            intent.update(status="succeeded", next_action=None)
            self.record_charge(intent["metadata"]["gateway_payment_id"])

    def customer_fails(self, intent_id: str, code: str = "authentication_required") -> None:
        with self.lock:
            intent = self.intents[intent_id]
            intent.update(status="requires_payment_method", next_action=None,
                          last_payment_error={"type": "card_error", "code": code,
                                              "message": "Authentication failed."})

    def webhook_for(self, event_kind: str, object_id: str, *, event_id: str | None = None,
                    age_s: int = 0, tamper: bool = False) -> Delivery:
        """A signed event about the PaymentIntent or Refund ``object_id``.
        ``event_id`` re-sends an earlier event (Stripe's retry), ``age_s`` back-dates the
        signature timestamp, ``tamper`` corrupts the signature."""
        with self.lock:
            obj = dict(self.intents.get(object_id) or self.refund_objects[object_id])
        event_id = event_id or self.new_id("evt_", 24)
        event = {"id": event_id, "object": "event", "type": event_kind,
                 "api_version": "2024-06-20", "created": int(time.time()) - age_s,
                 "livemode": False, "data": {"object": obj}}
        body = json.dumps(event)
        header = stripe.WebhookSignature.generate_signature_header(
            body, self.webhook_secret, timestamp=int(time.time()) - age_s)
        if tamper:
            header = header[:-4] + ("0000" if not header.endswith("0000") else "1111")
        return Delivery({"Stripe-Signature": header, "Content-Type": "application/json"},
                        body.encode(), event_id)

    # --- wire format -------------------------------------------------------------------

    def error_response(self, status: int) -> Response:
        if status == 429:
            return _error(429, "invalid_request_error", "Too many requests.", code="rate_limit")
        return _error(status, "api_error", "Something went wrong on Stripe's end.")

    def routes(self, app: Flask) -> None:
        app.before_request(self._authenticate)
        app.add_url_rule("/v1/payment_intents", view_func=self._create_intent,
                         methods=["POST"])
        app.add_url_rule("/v1/payment_intents/search", view_func=self._search_intents)
        app.add_url_rule("/v1/payment_intents/<intent_id>", view_func=self._get_intent)
        app.add_url_rule("/v1/refunds", view_func=self._create_refund, methods=["POST"])
        app.add_url_rule("/v1/refunds", view_func=self._list_refunds, methods=["GET"])
        app.add_url_rule("/v1/refunds/<refund_id>", view_func=self._get_refund)

    def _authenticate(self):
        auth = request.headers.get("Authorization", "")
        if auth != f"Bearer {self.secret_key}":
            given = auth.removeprefix("Bearer ")
            return _error(401, "invalid_request_error",
                          f"Invalid API Key provided: {given[:3]}****{given[-4:]}")
        return None

    def _idempotent(self, handler) -> Response:
        key = request.headers.get("Idempotency-Key")
        raw = request.get_data(as_text=True)
        if key:
            with self.lock:
                stored = self._idempotency.get((request.path, key))
            if stored is not None:
                body, status, stored_raw = stored
                if stored_raw != raw:
                    return _error(400, "idempotency_error",
                                  "Keys for idempotent requests can only be used with the same "
                                  "parameters they were first used with.")
                response = Response(body, status=status, mimetype="application/json")
                response.headers["Idempotent-Replayed"] = "true"
                return response
        response = handler(decode_form(raw))
        if key and response.status_code < 500:
            with self.lock:
                self._idempotency[(request.path, key)] = (
                    response.get_data(as_text=True), response.status_code, raw)
        return response

    def _create_intent(self):
        return self._idempotent(self._do_create_intent)

    def _do_create_intent(self, form: dict) -> Response:
        try:
            amount = int(form["amount"])
            currency = form["currency"]
        except (KeyError, ValueError):
            return _error(400, "invalid_request_error", "Missing required param: amount.",
                          code="parameter_missing", param="amount")
        intent = {
            "id": self.new_id("pi_", 24), "object": "payment_intent", "amount": amount,
            "currency": currency, "metadata": form.get("metadata", {}),
            "status": "requires_payment_method", "payment_method": form.get("payment_method"),
            "last_payment_error": None, "next_action": None, "cancellation_reason": None,
            "created": int(time.time()), "livemode": False,
        }
        intent["client_secret"] = f"{intent['id']}_secret_{self.new_id('', 20)}"
        declined = None
        if form.get("confirm") == "true":
            declined = self.take_decline()
            with self.lock:
                action = self._require_action.pop(0) if self._require_action else None
            if declined:
                intent["last_payment_error"] = {
                    "type": "card_error", "code": "card_declined", "decline_code": declined,
                    "message": "Your card was declined."}
            elif action:
                intent["status"] = "requires_action"
                intent["next_action"] = {"type": "redirect_to_url", "redirect_to_url": {
                    "url": f"{self.url}/3ds/{intent['id']}",
                    "return_url": form.get("return_url")}}
            else:
                intent["status"] = "succeeded"
                self.record_charge(intent["metadata"].get("gateway_payment_id", ""))
        with self.lock:
            self.intents[intent["id"]] = intent
        shown = dict(intent, amount=self.reported_amount("payment", amount))
        if declined:
            return _error(402, "card_error", "Your card was declined.", code="card_declined",
                          decline_code=declined, payment_intent=shown)
        return _json(shown)

    def _get_intent(self, intent_id: str):
        with self.lock:
            intent = self.intents.get(intent_id)
        if intent is None:
            return _error(404, "invalid_request_error", f"No such payment_intent: {intent_id}",
                          code="resource_missing")
        return _json(intent)

    def _search_intents(self):
        match = re.fullmatch(r"metadata\['(\w+)'\]:'([^']*)'", request.args.get("query", ""))
        if not match:
            return _error(400, "invalid_request_error", "Unsupported search query.")
        key, value = match.groups()
        with self.lock:
            found = [i for i in self.intents.values() if i["metadata"].get(key) == value]
        return _json({"object": "search_result", "data": found, "has_more": False,
                      "url": "/v1/payment_intents/search"})

    def _create_refund(self):
        return self._idempotent(self._do_create_refund)

    def _do_create_refund(self, form: dict) -> Response:
        with self.lock:
            intent = self.intents.get(form.get("payment_intent", ""))
        if intent is None:
            return _error(400, "invalid_request_error", "No such payment_intent.",
                          code="resource_missing", param="payment_intent")
        declined = self.take_refund_decline()
        if declined:
            return _error(400, "invalid_request_error", "The refund could not be made.",
                          code=declined)
        amount = int(form.get("amount", intent["amount"]))
        with self.lock:
            refunded = sum(r["amount"] for r in self.refund_objects.values()
                           if r["payment_intent"] == intent["id"] and r["status"] != "failed")
            if intent["status"] != "succeeded" or refunded >= intent["amount"]:
                return _error(400, "invalid_request_error", "Charge has already been refunded.",
                              code="charge_already_refunded")
            if amount > intent["amount"] - refunded:
                return _error(400, "invalid_request_error", "Refund amount is too large.",
                              code="amount_too_large", param="amount")
            refund = {"id": self.new_id("re_", 24), "object": "refund", "amount": amount,
                      "currency": intent["currency"], "payment_intent": intent["id"],
                      "status": "succeeded", "metadata": form.get("metadata", {}),
                      "failure_reason": None, "created": int(time.time())}
            self.refund_objects[refund["id"]] = refund
            self.record_refund(refund["metadata"].get("gateway_refund_id", ""))
        return _json(dict(refund, amount=self.reported_amount("refund", amount)))

    def _get_refund(self, refund_id: str):
        with self.lock:
            refund = self.refund_objects.get(refund_id)
        if refund is None:
            return _error(404, "invalid_request_error", f"No such refund: {refund_id}",
                          code="resource_missing")
        return _json(refund)

    def _list_refunds(self):
        intent_id = request.args.get("payment_intent")
        with self.lock:
            found = [r for r in self.refund_objects.values()
                     if intent_id is None or r["payment_intent"] == intent_id]
        return _json({"object": "list", "data": found, "has_more": False, "url": "/v1/refunds"})
