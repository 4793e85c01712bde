"""A Cashfree PG stand-in: orders, order payments, refunds and signed webhooks.

``x-client-id`` / ``x-client-secret`` authenticate (else 401 ``authentication_error``),
``x-api-version`` is required. Amounts are decimal major units on the wire; the simulator
keeps integer paise internally and renders them as JSON numbers with two decimals, as
Cashfree does. A second order or refund with the same id answers 409, as Cashfree does.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from decimal import Decimal

from flask import Flask, Response, request

from tests.simulators.base import Delivery, SimulatorBase


class _Rupees:
    """Paise rendered as an exact JSON number with two decimals (``10.50``)."""

    def __init__(self, paise: int) -> None:
        self.text = f"{Decimal(paise).scaleb(-2):.2f}"


def _json(obj, status: int = 200) -> Response:
    return Response(_render(obj), status=status, mimetype="application/json")


def _render(obj) -> str:
    """JSON with _Rupees values written as numbers."""
    placeholders: dict[str, str] = {}

    def swap(value):
        if isinstance(value, _Rupees):
            key = f"__rupees_{len(placeholders)}__"
            placeholders[key] = value.text
            return key
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    text = json.dumps(swap(obj))
    for key, number in placeholders.items():
        text = text.replace(f'"{key}"', number)
    return text


def _error(status: int, code: str, message: str, type_: str = "invalid_request_error"):
    return _json({"message": message, "code": code, "type": type_}, status)


def _paise(value) -> int:
    return int(Decimal(str(value)).scaleb(2))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class CashfreeSimulator(SimulatorBase):
    name = "cashfree"

    def __init__(self, client_id: str, client_secret: str) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.orders: dict[str, dict] = {}
        self.attempts: dict[str, list[dict]] = {}
        self.refund_objects: dict[tuple[str, str], dict] = {}
        super().__init__()

    # --- customer in checkout ------------------------------------------------------------

    def customer_pays(self, order_id: str) -> None:
        declined = self.take_decline()
        if declined:
            self.customer_fails(order_id, declined)
            return
        with self.lock:
            self._attempt(order_id, "SUCCESS", None)
            self.orders[order_id]["order_status"] = "PAID"
            self.record_charge(order_id)

    def customer_fails(self, order_id: str, code: str = "TRANSACTION_DECLINED") -> None:
        with self.lock:
            self._attempt(order_id, "FAILED", {"error_code": code,
                                               "error_description": "Transaction declined",
                                               "error_reason": code.lower(),
                                               "error_source": "bank"})

    def _attempt(self, order_id: str, status: str, error: dict | None) -> dict:
        order = self.orders[order_id]
        attempt = {"cf_payment_id": int(time.time_ns() % 10**12), "order_id": order_id,
                   "entity": "payment", "payment_status": status,
                   "payment_amount": order["paise"], "payment_currency": order["currency"],
                   "payment_message": "Transaction successful" if status == "SUCCESS"
                   else "Transaction failed", "payment_time": _now(),
                   "payment_group": "upi", "error_details": error}
        self.attempts.setdefault(order_id, []).append(attempt)
        return attempt

    def _order_view(self, order: dict, kind: str = "") -> dict:
        shown = {k: v for k, v in order.items() if k not in ("paise", "currency")}
        shown["order_amount"] = _Rupees(self.reported_amount(kind, order["paise"]) if kind
                                        else order["paise"])
        return shown

    # --- webhooks ------------------------------------------------------------------------

    def webhook_for(self, event_kind: str, object_id: str, *, event_id: str | None = None,
                    age_s: int = 0, tamper: bool = False) -> Delivery:
        """A signed webhook. ``object_id`` is an order id for PAYMENT_* events (about its
        latest attempt) and ``order_id/refund_id`` for REFUND_STATUS_WEBHOOK. Cashfree sends
        no event id (the provider derives one), so ``event_id`` is not used."""
        with self.lock:
            if event_kind == "REFUND_STATUS_WEBHOOK":
                order_id, refund_id = object_id.split("/", 1)
                refund = dict(self.refund_objects[(order_id, refund_id)])
                refund["refund_amount"] = _Rupees(refund.pop("paise"))
                data = {"refund": refund}
                derived = f"{event_kind}:{refund_id}:{refund['refund_status']}"
            else:
                order = self.orders[object_id]
                attempt = dict(self.attempts[object_id][-1])
                attempt["payment_amount"] = _Rupees(attempt["payment_amount"])
                data = {"order": {"order_id": object_id,
                                  "order_amount": _Rupees(order["paise"]),
                                  "order_currency": order["currency"],
                                  "order_tags": order.get("order_tags")},
                        "payment": {k: v for k, v in attempt.items() if k != "error_details"},
                        "customer_details": order["customer_details"],
                        "error_details": attempt["error_details"]}
                derived = f"{event_kind}:{object_id}:{attempt['cf_payment_id']}"
        body = _render({"data": data, "event_time": _now(), "type": event_kind})
        timestamp = str(int((time.time() - age_s) * 1000))
        signature = base64.b64encode(hmac.new(self.client_secret.encode(),
                                              (timestamp + body).encode(),
                                              hashlib.sha256).digest()).decode()
        if tamper:
            signature = ("A" if signature[0] != "A" else "B") + signature[1:]
        return Delivery({"x-webhook-signature": signature, "x-webhook-timestamp": timestamp,
                         "x-webhook-version": "2023-08-01", "Content-Type": "application/json"},
                        body.encode(), derived)

    # --- wire format ---------------------------------------------------------------------

    def error_response(self, status: int) -> Response:
        if status == 429:
            return _error(429, "request_failed", "Too many requests", "rate_limit_error")
        return _error(status, "internal_error", "Internal server error", "api_error")

    def routes(self, app: Flask) -> None:
        app.before_request(self._authenticate)
        app.add_url_rule("/orders", view_func=self._create_order, methods=["POST"])
        app.add_url_rule("/orders/<order_id>", view_func=self._get_order)
        app.add_url_rule("/orders/<order_id>/payments", view_func=self._get_attempts)
        app.add_url_rule("/orders/<order_id>/refunds", view_func=self._create_refund,
                         methods=["POST"])
        app.add_url_rule("/orders/<order_id>/refunds/<refund_id>", view_func=self._get_refund)

    def _authenticate(self):
        if (request.headers.get("x-client-id") != self.client_id
                or request.headers.get("x-client-secret") != self.client_secret):
            return _error(401, "request_failed", "authentication Failed",
                          "authentication_error")
        if not request.headers.get("x-api-version"):
            return _error(400, "x-api-version_missing", "x-api-version missing in request")
        return None

    def _create_order(self):
        body = request.get_json(force=True)
        try:
            order_id, paise = body["order_id"], _paise(body["order_amount"])
            customer = body["customer_details"]
            if not (customer.get("customer_id") and customer.get("customer_phone")):
                raise KeyError("customer_details")
        except (KeyError, TypeError, AttributeError, ArithmeticError, ValueError):
            return _error(400, "order_amount_missing", "order_amount or customer missing")
        with self.lock:
            if order_id in self.orders:
                return _error(409, "order_already_exists",
                              "order with same id is already present")
            order = {"cf_order_id": str(time.time_ns()), "order_id": order_id,
                     "entity": "order", "paise": paise, "order_currency": body["order_currency"],
                     "currency": body["order_currency"], "order_status": "ACTIVE",
                     "payment_session_id": self.new_id("session_", 32),
                     "customer_details": customer, "order_meta": body.get("order_meta"),
                     "order_tags": body.get("order_tags"), "created_at": _now()}
            self.orders[order_id] = order
        return _json(self._order_view(order, "payment"))

    def _get_order(self, order_id: str):
        with self.lock:
            order = self.orders.get(order_id)
        if order is None:
            return _error(404, "order_not_found", "order does not exist")
        return _json(self._order_view(order))

    def _get_attempts(self, order_id: str):
        with self.lock:
            attempts = [dict(a, payment_amount=_Rupees(a["payment_amount"]))
                        for a in self.attempts.get(order_id, [])]
        return _json(attempts)

    def _refund_view(self, refund: dict, kind: str = "") -> dict:
        shown = {k: v for k, v in refund.items() if k != "paise"}
        shown["refund_amount"] = _Rupees(self.reported_amount(kind, refund["paise"]) if kind
                                         else refund["paise"])
        return shown

    def _create_refund(self, order_id: str):
        body = request.get_json(force=True)
        refund_id = body.get("refund_id", "")
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                return _error(404, "order_not_found", "order does not exist")
            if (order_id, refund_id) in self.refund_objects:
                return _error(409, "refund_already_exists", "refund with same id exists")
            if order["order_status"] != "PAID":
                return _error(400, "refund_invalid", "order is not paid")
        declined = self.take_refund_decline()
        if declined:
            return _error(400, declined, "refund could not be processed")
        paise = _paise(body["refund_amount"])
        with self.lock:
            refunded = sum(r["paise"] for (o, _), r in self.refund_objects.items()
                           if o == order_id and r["refund_status"] != "CANCELLED")
            if paise > order["paise"] - refunded:
                return _error(400, "refund_amount_invalid", "refund amount exceeds order")
            refund = {"cf_refund_id": str(time.time_ns()), "cf_payment_id":
                      self.attempts[order_id][-1]["cf_payment_id"], "refund_id": refund_id,
                      "order_id": order_id, "entity": "refund", "paise": paise,
                      "refund_currency": order["currency"], "refund_status": "SUCCESS",
                      "status_description": "Refund processed", "created_at": _now()}
            self.refund_objects[(order_id, refund_id)] = refund
            self.record_refund(refund_id)
        return _json(self._refund_view(refund, "refund"))

    def _get_refund(self, order_id: str, refund_id: str):
        with self.lock:
            refund = self.refund_objects.get((order_id, refund_id))
        if refund is None:
            return _error(404, "refund_not_found", "refund does not exist")
        return _json(self._refund_view(refund))
