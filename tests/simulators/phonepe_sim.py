"""A PhonePe PG (v1 "hermes") stand-in: pay, status, refund and signed server callbacks.

Every call's ``X-VERIFY`` is recomputed with the merchant's salt; a mismatch (a wrong salt or
merchant id) answers 401 ``AUTHORIZATION_FAILED``, as PhonePe does. ``merchantTransactionId``
is unique: repeating a pay or refund returns the original answer and moves no money.
"""
from __future__ import annotations

import base64
import hashlib
import json

from flask import Flask, Response, request

from tests.simulators.base import Delivery, SimulatorBase

_MESSAGES = {"PAYMENT_SUCCESS": "Your payment is successful.",
             "PAYMENT_PENDING": "Your payment is in progress.",
             "PAYMENT_INITIATED": "Payment initiated"}


def _json(obj, status: int = 200) -> Response:
    return Response(json.dumps(obj), status=status, mimetype="application/json")


def _answer(code: str, data: dict | None = None, status: int = 200) -> Response:
    return _json({"success": code in ("PAYMENT_SUCCESS", "PAYMENT_INITIATED"), "code": code,
                  "message": _MESSAGES.get(code, "Payment failed."), "data": data or {}},
                 status)


class PhonePeSimulator(SimulatorBase):
    name = "phonepe"

    def __init__(self, merchant_id: str, salt_key: str, salt_index: str, webhook_username: str,
                 webhook_password: str) -> None:
        self.merchant_id, self.salt_key, self.salt_index = merchant_id, salt_key, salt_index
        self.webhook_auth = (webhook_username, webhook_password)
        self.transactions: dict[str, dict] = {}    # merchantTransactionId -> state
        self.pay_answers: dict[str, dict] = {}
        super().__init__()

    def x_verify(self, signed: str) -> str:
        return hashlib.sha256((signed + self.salt_key).encode()).hexdigest() + "###" + \
            self.salt_index

    # --- customer on the pay page --------------------------------------------------------

    def customer_pays(self, transaction_id: str) -> None:
        declined = self.take_decline()
        if declined:
            self.customer_fails(transaction_id, declined)
            return
        with self.lock:
            txn = self.transactions[transaction_id]
            txn.update(code="PAYMENT_SUCCESS", state="COMPLETED", responseCode="SUCCESS")
            self.record_charge(transaction_id)

    def customer_fails(self, transaction_id: str, code: str = "PAYMENT_ERROR") -> None:
        with self.lock:
            self.transactions[transaction_id].update(code=code, state="FAILED",
                                                     responseCode="ZM")

    def _data(self, txn: dict, kind: str) -> dict:
        return {"merchantId": self.merchant_id, "merchantTransactionId": txn["id"],
                "transactionId": txn["phonepe_id"],
                "amount": self.reported_amount(kind, txn["amount"]),
                "state": txn["state"], "responseCode": txn["responseCode"],
                "paymentInstrument": {"type": "UPI"} if txn["state"] == "COMPLETED" else None}

    # --- callbacks -----------------------------------------------------------------------

    def webhook_for(self, event_kind: str, object_id: str, *, event_id: str | None = None,
                    age_s: int = 0, tamper: bool = False) -> Delivery:
        """A server-to-server callback about transaction ``object_id`` (a payment or a
        refund) in its current state; ``event_kind`` is informational. PhonePe signs no
        timestamp, so ``age_s`` has nothing to change; ``event_id`` cannot be chosen
        either: the provider derives it from the transaction and its code."""
        with self.lock:
            txn = dict(self.transactions[object_id])
        decoded = {"success": txn["code"] == "PAYMENT_SUCCESS", "code": txn["code"],
                   "message": _MESSAGES.get(txn["code"], "Payment failed."),
                   "data": {"merchantId": self.merchant_id, "merchantTransactionId": txn["id"],
                            "transactionId": txn["phonepe_id"], "amount": txn["amount"],
                            "state": txn["state"], "responseCode": txn["responseCode"]}}
        encoded = base64.b64encode(json.dumps(decoded).encode()).decode()
        signature = self.x_verify(encoded)
        if tamper:
            signature = ("0" if signature[0] != "0" else "1") + signature[1:]
        # PhonePe "Handling Webhooks": the Authorization header is SHA256(username:password),
        # the hex digest of the credentials configured on the dashboard (not HTTP Basic).
        user, password = self.webhook_auth
        authorization = hashlib.sha256(f"{user}:{password}".encode()).hexdigest()
        return Delivery({"X-VERIFY": signature, "Authorization": authorization,
                         "Content-Type": "application/json"},
                        json.dumps({"response": encoded}).encode(), f"{txn['id']}:{txn['code']}")

    # --- wire format ---------------------------------------------------------------------

    def error_response(self, status: int) -> Response:
        return _json({"success": False, "code": "INTERNAL_SERVER_ERROR",
                      "message": "There is an error trying to process your transaction."},
                     status)

    def routes(self, app: Flask) -> None:
        app.add_url_rule("/pg/v1/pay", view_func=self._pay, methods=["POST"])
        app.add_url_rule("/pg/v1/refund", view_func=self._refund, methods=["POST"])
        app.add_url_rule("/pg/v1/status/<merchant_id>/<transaction_id>", view_func=self._status)

    def _signed_payload(self, path: str) -> dict | Response:
        encoded = (request.get_json(force=True, silent=True) or {}).get("request", "")
        if request.headers.get("X-VERIFY") != self.x_verify(encoded + path):
            return _json({"success": False, "code": "AUTHORIZATION_FAILED",
                          "message": "Key not found for the merchant"}, 401)
        try:
            payload = json.loads(base64.b64decode(encoded))
        except ValueError:
            return _json({"success": False, "code": "BAD_REQUEST",
                          "message": "Please check the inputs you have provided."}, 400)
        if payload.get("merchantId") != self.merchant_id:
            return _json({"success": False, "code": "AUTHORIZATION_FAILED",
                          "message": "Key not found for the merchant"}, 401)
        return payload

    def _pay(self):
        payload = self._signed_payload("/pg/v1/pay")
        if isinstance(payload, Response):
            return payload
        txn_id = payload["merchantTransactionId"]
        with self.lock:
            if txn_id in self.pay_answers:
                return _json(self.pay_answers[txn_id])
            instrument = payload["paymentInstrument"]
            self.transactions[txn_id] = {
                "id": txn_id, "phonepe_id": self.new_id("T", 20), "amount": payload["amount"],
                "code": "PAYMENT_PENDING", "state": "PENDING", "responseCode": None,
                "kind": "payment"}
            if instrument["type"] == "PAY_PAGE":
                instrument_response = {"type": "PAY_PAGE", "redirectInfo": {
                    "url": f"{self.url}/pay-page/{txn_id}", "method": "GET"}}
            else:
                instrument_response = {"type": instrument["type"]}
            answer = {"success": True, "code": "PAYMENT_INITIATED",
                      "message": "Payment initiated",
                      "data": {"merchantId": self.merchant_id, "merchantTransactionId": txn_id,
                               "instrumentResponse": instrument_response}}
            self.pay_answers[txn_id] = answer
        return _json(answer)

    def _status(self, merchant_id: str, transaction_id: str):
        path = f"/pg/v1/status/{merchant_id}/{transaction_id}"
        if (request.headers.get("X-VERIFY") != self.x_verify(path)
                or request.headers.get("X-MERCHANT-ID") != self.merchant_id
                or merchant_id != self.merchant_id):
            return _json({"success": False, "code": "AUTHORIZATION_FAILED",
                          "message": "Key not found for the merchant"}, 401)
        with self.lock:
            txn = self.transactions.get(transaction_id)
        if txn is None:
            return _answer("TRANSACTION_NOT_FOUND")
        return _answer(txn["code"], self._data(txn, "status"))

    def _refund(self):
        payload = self._signed_payload("/pg/v1/refund")
        if isinstance(payload, Response):
            return payload
        refund_id = payload["merchantTransactionId"]
        with self.lock:
            existing = self.transactions.get(refund_id)
            original = self.transactions.get(payload.get("originalTransactionId"))
        if existing is not None:
            return _answer(existing["code"], self._data(existing, "refund"))
        if original is None or original["state"] != "COMPLETED":
            return _answer("TRANSACTION_NOT_FOUND", status=400)
        declined = self.take_refund_decline()
        with self.lock:
            refund = {"id": refund_id, "phonepe_id": self.new_id("T", 20),
                      "amount": payload["amount"], "kind": "refund",
                      "code": declined or "PAYMENT_SUCCESS",
                      "state": "FAILED" if declined else "COMPLETED",
                      "responseCode": "ZM" if declined else "SUCCESS"}
            self.transactions[refund_id] = refund
            if not declined:
                self.record_refund(refund_id)
        return _answer(refund["code"], self._data(refund, "refund"))
