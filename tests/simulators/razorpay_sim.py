"""A Razorpay API stand-in: Orders, order payments, refunds, Checkout and signed webhooks.

JSON in, JSON out, HTTP Basic auth with key id / key secret, Razorpay's error shape
``{"error": {"code": ..., "description": ...}}``. Orders are deduplicated on ``receipt`` and
refunds on ``receipt``, so a repeated create returns the same object.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time

from flask import Flask, Response, request

from tests.simulators.base import Delivery, SimulatorBase


def _json(obj, status: int = 200) -> Response:
    return Response(json.dumps(obj), status=status, mimetype="application/json")


def _error(status: int, code: str, description: str) -> Response:
    return _json({"error": {"code": code, "description": description, "source": "NA",
                            "step": "NA", "reason": "NA", "metadata": {}}}, status)


def _collection(items: list) -> dict:
    return {"entity": "collection", "count": len(items), "items": items}


def sign(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


class RazorpaySimulator(SimulatorBase):
    name = "razorpay"

    def __init__(self, key_id: str, key_secret: str, webhook_secret: str) -> None:
        self.key_id, self.key_secret, self.webhook_secret = key_id, key_secret, webhook_secret
        self.orders: dict[str, dict] = {}
        self.payments: dict[str, dict] = {}
        self.refund_objects: dict[str, dict] = {}
        # Real Razorpay does not deduplicate orders on receipt; switch this off to prove the
        # provider looks an order up before creating one.
        self.dedupe_receipts = True
        super().__init__()

    # --- customer in Checkout ------------------------------------------------------------

    def customer_pays(self, order_id: str, notes: dict | None = None) -> dict:
        """The customer pays in Checkout; returns what Checkout hands the merchant's page.
        A queued ``decline_next`` makes this attempt fail instead. ``notes``: what the
        browser passed to Checkout (Razorpay copies it onto the payment; anyone can set it)."""
        declined = self.take_decline()
        if declined:
            return self.customer_fails(order_id, declined)
        payment = self._attempt(order_id, "captured", **({"notes": notes} if notes else {}))
        with self.lock:
            self.orders[order_id]["status"] = "paid"
            self.orders[order_id]["amount_paid"] = payment["amount"]
            self.record_charge(self.orders[order_id]["receipt"])
        return {"razorpay_order_id": order_id, "razorpay_payment_id": payment["id"],
                "razorpay_signature": sign(self.key_secret, f"{order_id}|{payment['id']}")}

    def customer_fails(self, order_id: str, code: str = "payment_failed") -> dict:
        payment = self._attempt(order_id, "failed", error_code="BAD_REQUEST_ERROR",
                                error_reason=code, error_description="Payment failed",
                                error_source="bank", error_step="payment_authorization")
        return {"error": {"code": "BAD_REQUEST_ERROR", "reason": code,
                          "metadata": {"order_id": order_id, "payment_id": payment["id"]}}}

    def _attempt(self, order_id: str, status: str, **fields) -> dict:
        with self.lock:
            order = self.orders[order_id]
            order["status"] = "attempted" if status == "failed" else order["status"]
            payment = {"id": self.new_id("pay_"), "entity": "payment", "amount": order["amount"],
                       "currency": order["currency"], "status": status, "order_id": order_id,
                       "method": "card", "captured": status == "captured",
                       "notes": dict(order["notes"]), "error_code": None,
                       "error_description": None, "error_reason": None,
                       "created_at": int(time.time() * 1000), **fields}
            self.payments[payment["id"]] = payment
        return payment

    def orders_for(self, receipt: str) -> int:
        with self.lock:
            return sum(1 for o in self.orders.values() if o["receipt"] == receipt)

    def payment_for_order(self, order_id: str, status: str) -> dict:
        with self.lock:
            return next(p for p in self.payments.values()
                        if p["order_id"] == order_id and p["status"] == status)

    # --- webhooks ------------------------------------------------------------------------

    def webhook_for(self, event_kind: str, object_id: str, *, event_id: str | None = None,
                    age_s: int = 0, tamper: bool = False) -> Delivery:
        """A signed event. ``object_id`` is a payment id for payment.*, an order id for
        order.paid and a refund id for refund.*. Razorpay signs no timestamp; ``age_s`` only
        back-dates ``created_at`` in the body."""
        with self.lock:
            if event_kind.startswith("refund."):
                refund = dict(self.refund_objects[object_id])
                payload = {"refund": {"entity": refund},
                           "payment": {"entity": dict(self.payments[refund["payment_id"]])}}
            elif event_kind == "order.paid":
                order = dict(self.orders[object_id])
                paid = next(p for p in self.payments.values()
                            if p["order_id"] == object_id and p["status"] == "captured")
                payload = {"order": {"entity": order}, "payment": {"entity": dict(paid)}}
            else:
                payload = {"payment": {"entity": dict(self.payments[object_id])}}
        event = {"entity": "event", "account_id": "acc_sim", "event": event_kind,
                 "contains": list(payload), "payload": payload,
                 "created_at": int(time.time()) - age_s}
        body = json.dumps(event)
        signature = sign(self.webhook_secret, body)
        if tamper:
            signature = signature[:-4] + ("0000" if not signature.endswith("0000") else "1111")
        event_id = event_id or self.new_id("evt_")
        return Delivery({"X-Razorpay-Signature": signature, "x-razorpay-event-id": event_id,
                         "Content-Type": "application/json"}, body.encode(), event_id)

    # --- wire format ---------------------------------------------------------------------

    def error_response(self, status: int) -> Response:
        return _error(status, "SERVER_ERROR", "The server encountered an error.")

    def routes(self, app: Flask) -> None:
        app.before_request(self._authenticate)
        app.add_url_rule("/v1/orders", view_func=self._create_order, methods=["POST"])
        app.add_url_rule("/v1/orders", view_func=self._list_orders, methods=["GET"])
        app.add_url_rule("/v1/orders/<order_id>", view_func=self._get_order)
        app.add_url_rule("/v1/orders/<order_id>/payments", view_func=self._order_payments)
        app.add_url_rule("/v1/payments/<payment_id>/refund", view_func=self._create_refund,
                         methods=["POST"])
        app.add_url_rule("/v1/payments/<payment_id>/refunds", view_func=self._payment_refunds)
        app.add_url_rule("/v1/refunds/<refund_id>", view_func=self._get_refund)

    def _authenticate(self):
        auth = request.authorization
        if auth is None or (auth.username, auth.password) != (self.key_id, self.key_secret):
            return _error(401, "BAD_REQUEST_ERROR", "Authentication failed")
        return None

    def _create_order(self):
        body = request.get_json(force=True)
        try:
            amount, currency, receipt = int(body["amount"]), body["currency"], body["receipt"]
        except (KeyError, TypeError, ValueError):
            return _error(400, "BAD_REQUEST_ERROR", "The amount field is required.")
        with self.lock:
            order = next((o for o in self.orders.values()
                          if self.dedupe_receipts and o["receipt"] == receipt), None)
            if order is None:
                order = {"id": self.new_id("order_"), "entity": "order", "amount": amount,
                         "amount_paid": 0, "amount_due": amount, "currency": currency,
                         "receipt": receipt, "status": "created", "attempts": 0,
                         "notes": body.get("notes") or {}, "created_at": int(time.time())}
                self.orders[order["id"]] = order
        return _json(dict(order, amount=self.reported_amount("payment", order["amount"])))

    def _list_orders(self):
        receipt = request.args.get("receipt")
        with self.lock:
            found = [o for o in self.orders.values() if receipt in (None, o["receipt"])]
        return _json(_collection(found))

    def _get_order(self, order_id: str):
        with self.lock:
            order = self.orders.get(order_id)
        if order is None:
            return _error(400, "BAD_REQUEST_ERROR", "The id provided does not exist")
        return _json(order)

    def _order_payments(self, order_id: str):
        with self.lock:
            found = [p for p in self.payments.values() if p["order_id"] == order_id]
        return _json(_collection(found))

    def _create_refund(self, payment_id: str):
        body = request.get_json(force=True)
        with self.lock:
            payment = self.payments.get(payment_id)
            if payment is None or payment["status"] not in ("captured", "refunded"):
                return _error(400, "BAD_REQUEST_ERROR", "The payment has not been captured")
            receipt = body.get("receipt")
            existing = next((r for r in self.refund_objects.values()
                             if receipt and r["receipt"] == receipt), None)
            if existing is not None:
                return _json(existing)
        declined = self.take_refund_decline()
        if declined:
            return _error(400, declined, "The refund could not be processed.")
        amount = int(body.get("amount", payment["amount"]))
        with self.lock:
            refunded = sum(r["amount"] for r in self.refund_objects.values()
                           if r["payment_id"] == payment_id and r["status"] != "failed")
            if amount > payment["amount"] - refunded:
                return _error(400, "BAD_REQUEST_ERROR",
                              "The refund amount provided is greater than amount captured")
            refund = {"id": self.new_id("rfnd_"), "entity": "refund", "amount": amount,
                      "currency": payment["currency"], "payment_id": payment_id,
                      "notes": body.get("notes") or {}, "receipt": receipt,
                      "status": "processed", "speed_requested": body.get("speed", "normal"),
                      "created_at": int(time.time())}
            self.refund_objects[refund["id"]] = refund
            self.record_refund(receipt or refund["id"])
        return _json(dict(refund, amount=self.reported_amount("refund", amount)))

    def _payment_refunds(self, payment_id: str):
        with self.lock:
            found = [r for r in self.refund_objects.values() if r["payment_id"] == payment_id]
        return _json(_collection(found))

    def _get_refund(self, refund_id: str):
        with self.lock:
            refund = self.refund_objects.get(refund_id)
        if refund is None:
            return _error(400, "BAD_REQUEST_ERROR", "The id provided does not exist")
        return _json(refund)
