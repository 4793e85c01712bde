"""Cashfree Payment Gateway (PG API, ``x-api-version`` from config) over ``requests``.

The customer pays in Cashfree's checkout, so ``create_payment`` creates an order and returns
PROCESSING with ``next_action`` ``{"type": "cashfree_checkout", "payment_session_id": ...,
"order_id": ...}`` for the front end's Cashfree JS SDK.

Ids: the Cashfree ``order_id`` is our payment id and ``provider_payment_id`` is that same
order id (every Cashfree call is addressed by it; ``cf_order_id`` stays in the response copy).
``provider_refund_id`` is Cashfree's ``cf_refund_id``; refunds are addressed by our refund id.

Idempotency: Cashfree refuses a second order or refund with the same id (409); we then read
the existing one, so a retried worker task gets the original order and session back.

Amounts: Cashfree speaks decimal major units. Only INR is supported (exponent 2, the only
currency a standard Cashfree PG account settles); others are refused with
``ProviderConfigError``. Conversion is exact (``shared.money``), and responses are parsed
with ``Decimal``, never float.

Outcome of an order: PAID is SUCCEEDED; EXPIRED / TERMINATED are FAILED; ACTIVE depends on
the order's payment attempts (a SUCCESS: SUCCEEDED; otherwise PROCESSING, with the latest
FAILED / USER_DROPPED / CANCELLED / VOID attempt's code for information). The customer may
retry in the same session after a failed attempt, so failed attempts (and the
PAYMENT_FAILED / USER_DROPPED webhooks, ``attempt_only``) never make the payment final; the
gateway expires the checkout.
TERMINATION_REQUESTED is PROCESSING: an attempt in flight can still succeed.

Webhooks: ``x-webhook-signature`` = base64(HMAC-SHA256(client_secret, timestamp + raw
body)) with ``x-webhook-timestamp`` in milliseconds, refused when more than 5 minutes off.
Cashfree sends no event id, so it is derived from type, ids and status (stable across
redeliveries, different when the status moves).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from decimal import Decimal

from shared.config import Config
from shared.errors import (
    ProviderConfigError,
    ProviderError,
    ProviderUnavailable,
    WebhookVerificationError,
)
from shared.money import from_major_string, to_major_string
from shared.providers.base import (
    InboundEvent,
    Outcome,
    PaymentRequest,
    PaymentResult,
    PaymentResultFields,
    RefundRequest,
    RefundResult,
)
from shared.providers.http_transport import JsonResponse, JsonTransport
from shared.providers.integrity import checked
from shared.providers.redaction import redact
from shared.providers.webhook_headers import header_value

log = logging.getLogger(__name__)

CURRENCY = "INR"
WEBHOOK_TOLERANCE_MS = 5 * 60 * 1000
CALLBACK_PATH = "/api/v1/webhooks/cashfree"
# Cashfree requires a phone on every order; checkout asks the customer when we have none.
PLACEHOLDER_PHONE = "9999999999"
_CREDENTIALS = "CASHFREE_CLIENT_ID / CASHFREE_CLIENT_SECRET"

_ORDER_OUTCOMES = {"PAID": Outcome.SUCCEEDED, "EXPIRED": Outcome.FAILED,
                   "TERMINATED": Outcome.FAILED, "TERMINATION_REQUESTED": Outcome.PROCESSING,
                   "ACTIVE": None}   # None: decided by the payment attempts
_ATTEMPT_OUTCOMES = {"SUCCESS": Outcome.SUCCEEDED, "PENDING": Outcome.PROCESSING,
                     "NOT_ATTEMPTED": Outcome.PROCESSING, "FAILED": Outcome.FAILED,
                     "USER_DROPPED": Outcome.FAILED, "CANCELLED": Outcome.FAILED,
                     "VOID": Outcome.FAILED}
_REFUND_OUTCOMES = {"SUCCESS": Outcome.SUCCEEDED, "PENDING": Outcome.PROCESSING,
                    "ONHOLD": Outcome.PROCESSING, "CANCELLED": Outcome.FAILED}
_PAYMENT_EVENTS = {"PAYMENT_SUCCESS_WEBHOOK": Outcome.SUCCEEDED,
                   "PAYMENT_FAILED_WEBHOOK": Outcome.FAILED,
                   "PAYMENT_USER_DROPPED_WEBHOOK": Outcome.FAILED}


def _minor(value, currency: str) -> int | None:
    if value is None:
        return None
    try:
        return from_major_string(value if isinstance(value, Decimal) else str(value), currency)
    except (ValueError, ArithmeticError):
        return None


def _attempt_failure(attempt: Mapping) -> tuple[str, str | None]:
    details = attempt.get("error_details") or {}
    return (details.get("error_code") or attempt.get("payment_status") or "payment_failed",
            details.get("error_description") or attempt.get("payment_message"))


class CashfreeProvider:
    name = "cashfree"

    def __init__(self, config: Config) -> None:
        self._creds = config.providers
        self._base = config.providers.cashfree_base_url.rstrip("/")
        self._transport = JsonTransport("Cashfree", config.provider_timeout_s, _CREDENTIALS)

    def missing_credentials(self) -> list[str]:
        needed = {"CASHFREE_CLIENT_ID": self._creds.cashfree_client_id,
                  "CASHFREE_CLIENT_SECRET": self._creds.cashfree_client_secret,
                  "CASHFREE_API_VERSION": self._creds.cashfree_api_version}
        return [name for name, value in needed.items() if not value]

    def _send(self, method: str, path: str, request_copy: dict, body: dict | None = None,
              idempotency_key: str | None = None) -> JsonResponse:
        if not (self._creds.cashfree_client_id and self._creds.cashfree_client_secret):
            raise ProviderUnavailable(f"Cashfree is not configured ({_CREDENTIALS} empty).",
                                      code="provider_unavailable")
        headers = {"x-client-id": self._creds.cashfree_client_id,
                   "x-client-secret": self._creds.cashfree_client_secret,
                   "x-api-version": self._creds.cashfree_api_version,
                   "Content-Type": "application/json", "Accept": "application/json"}
        if idempotency_key:
            headers["x-idempotency-key"] = idempotency_key
        return self._transport.send(method, self._base + path, headers=headers, body=body,
                                    request_copy=request_copy)

    @staticmethod
    def _rejected(response: JsonResponse, request_copy: dict) -> ProviderError:
        body = response.body if isinstance(response.body, dict) else {}
        if response.status == 404:
            return ProviderError(f"Cashfree does not know this object: {body.get('message')}",
                                 code="provider_payment_not_found", request=request_copy,
                                 response=response.redacted())
        return ProviderConfigError(
            f"Cashfree rejected the request ({body.get('code') or response.status}): "
            f"{body.get('message')}", code="provider_invalid_request", request=request_copy,
            response=response.redacted())

    # --- payments ------------------------------------------------------------------------

    def create_payment(self, request: PaymentRequest) -> PaymentResult:
        if request.currency != CURRENCY:
            raise ProviderConfigError("Cashfree accepts INR only.", code="currency_unsupported")
        customer = dict(request.customer or {})
        public = self._creds.public_base_url.rstrip("/")
        customer_details = {
            "customer_id": str(customer.get("id") or f"guest_{request.payment_id}"),
            "customer_phone": str(customer.get("phone") or PLACEHOLDER_PHONE),
        }
        if customer.get("email"):
            customer_details["customer_email"] = str(customer["email"])
        if customer.get("name"):
            customer_details["customer_name"] = str(customer["name"])
        body = {
            "order_id": request.payment_id,
            "order_amount": to_major_string(request.amount, CURRENCY),
            "order_currency": CURRENCY,
            "customer_details": customer_details,
            "order_meta": {"return_url": request.return_url or public + "/",
                           "notify_url": public + CALLBACK_PATH},
            "order_tags": {"gateway_payment_id": request.payment_id},
        }
        if request.description:
            body["order_note"] = request.description[:200]
        request_copy = {"endpoint": "POST /orders", "body": redact(body)}
        response = self._send("POST", "/orders", request_copy, body, request.payment_id)
        if response.status == 409:
            # Already created by an earlier attempt whose answer we never got.
            response = self._send("GET", f"/orders/{request.payment_id}", request_copy)
        if response.status >= 400:
            raise self._rejected(response, request_copy)
        order = response.body
        result = checked(request, self._order_result(order, response, request_copy),
                         "Cashfree")
        if result.outcome is not Outcome.PROCESSING:
            return result
        return PaymentResult(
            outcome=Outcome.PROCESSING, provider_payment_id=request.payment_id,
            amount=result.amount, currency=result.currency,
            next_action={"type": "cashfree_checkout",
                         "payment_session_id": order.get("payment_session_id"),
                         "order_id": request.payment_id},
            request=request_copy, response=result.response)

    def fetch_payment(self, payment_id: str, provider_payment_id: str | None) -> PaymentResult:
        order_id = provider_payment_id or payment_id
        request_copy = {"endpoint": "GET /orders/{order_id}", "order_id": order_id}
        response = self._send("GET", f"/orders/{order_id}", request_copy)
        if response.status >= 400:
            raise self._rejected(response, request_copy)
        return self._order_result(response.body, response, request_copy)

    def _order_result(self, order: Mapping, response: JsonResponse,
                      request_copy: dict) -> PaymentResult:
        status = order.get("order_status")
        if status not in _ORDER_OUTCOMES:
            raise ProviderError(f"Cashfree order status {status!r} is not one we know.",
                                code="provider_unknown_status", request=request_copy,
                                response=response.redacted())
        currency = str(order.get("order_currency") or CURRENCY)
        common: PaymentResultFields = {
            "provider_payment_id": order.get("order_id"),
            "amount": _minor(order.get("order_amount"), currency), "currency": currency,
            "request": request_copy, "response": response.redacted()}
        outcome = _ORDER_OUTCOMES[status]
        if outcome is Outcome.SUCCEEDED or outcome is Outcome.PROCESSING:
            return PaymentResult(outcome=outcome, **common)
        attempts = self._attempts(str(order.get("order_id")), request_copy)
        latest = max(attempts, key=lambda a: str(a.get("payment_time") or ""), default=None)
        if outcome is Outcome.FAILED:
            code, message = (_attempt_failure(latest) if latest
                             else (f"order_{str(status).lower()}", None))
            return PaymentResult(outcome=Outcome.FAILED, failure_code=code,
                                 failure_message=message, **common)
        # ACTIVE: success wins, anything in flight is pending, else the latest failure.
        outcomes = [_ATTEMPT_OUTCOMES[a["payment_status"]] for a in attempts]
        if Outcome.SUCCEEDED in outcomes:
            return PaymentResult(outcome=Outcome.SUCCEEDED, **common)
        if latest is None or Outcome.PROCESSING in outcomes:
            return PaymentResult(outcome=Outcome.PROCESSING, **common)
        # Only failed attempts on an ACTIVE order: the customer may retry in the same
        # session, so nothing is final (the gateway expires the checkout).
        code, message = _attempt_failure(latest)
        return PaymentResult(outcome=Outcome.PROCESSING, failure_code=code,
                             failure_message=message, **common)

    def _attempts(self, order_id: str, request_copy: dict) -> list[dict]:
        response = self._send("GET", f"/orders/{order_id}/payments", request_copy)
        if response.status >= 400 or not isinstance(response.body, list):
            raise self._rejected(response, request_copy)
        unknown = {a.get("payment_status") for a in response.body} - set(_ATTEMPT_OUTCOMES)
        if unknown:
            raise ProviderError(f"Cashfree payment status {sorted(map(str, unknown))} is not "
                                "one we know.", code="provider_unknown_status",
                                request=request_copy, response=response.redacted())
        return response.body

    # --- refunds -------------------------------------------------------------------------

    def refund(self, request: RefundRequest) -> RefundResult:
        if request.currency != CURRENCY:
            raise ProviderConfigError("Cashfree accepts INR only.", code="currency_unsupported")
        order_id = request.provider_payment_id or request.payment_id
        body = {"refund_id": request.refund_id,
                "refund_amount": to_major_string(request.amount, CURRENCY)}
        if request.reason:
            body["refund_note"] = request.reason[:100]
        path = f"/orders/{order_id}/refunds"
        request_copy = {"endpoint": "POST /orders/{order_id}/refunds", "order_id": order_id,
                        "body": redact(body)}
        response = self._send("POST", path, request_copy, body, request.refund_id)
        if response.status == 409:
            response = self._send("GET", f"{path}/{request.refund_id}", request_copy)
        if response.status >= 400:
            # Cashfree refuses refunds it will not make (amount above what is left, order not
            # paid) with a 4xx and a code: the refund failed, nothing moved.
            error = response.body if isinstance(response.body, dict) else {}
            return RefundResult(outcome=Outcome.FAILED, amount=request.amount,
                                currency=request.currency,
                                failure_code=error.get("code") or f"http_{response.status}",
                                failure_message=error.get("message"), request=request_copy,
                                response=response.redacted())
        return checked(request, self._refund_result(response.body, response, request_copy),
                       "Cashfree")

    def fetch_refund(self, refund_id: str, provider_refund_id: str | None,
                     provider_payment_id: str | None) -> RefundResult:
        if not provider_payment_id:
            raise ProviderError("A Cashfree refund lookup needs the order id.",
                                code="provider_refund_not_found")
        request_copy = {"endpoint": "GET /orders/{order_id}/refunds/{refund_id}",
                        "order_id": provider_payment_id, "refund_id": refund_id}
        response = self._send("GET", f"/orders/{provider_payment_id}/refunds/{refund_id}",
                              request_copy)
        if response.status >= 400:
            raise self._rejected(response, request_copy)
        return self._refund_result(response.body, response, request_copy)

    def _refund_result(self, refund: Mapping, response: JsonResponse,
                       request_copy: dict) -> RefundResult:
        status = refund.get("refund_status")
        if status not in _REFUND_OUTCOMES:
            raise ProviderError(f"Cashfree refund status {status!r} is not one we know.",
                                code="provider_unknown_status", request=request_copy,
                                response=response.redacted())
        outcome = _REFUND_OUTCOMES[status]
        currency = str(refund.get("refund_currency") or CURRENCY)
        failed = outcome is Outcome.FAILED
        return RefundResult(
            outcome=outcome,
            provider_refund_id=str(refund["cf_refund_id"]) if refund.get("cf_refund_id")
            else None,
            amount=_minor(refund.get("refund_amount"), currency), currency=currency,
            failure_code=status if failed else None,
            failure_message=refund.get("status_description") if failed else None,
            request=request_copy, response=response.redacted())

    # --- webhooks ------------------------------------------------------------------------

    def read_verified_webhook(self, provider_event_id: str, payload: str) -> InboundEvent:
        """Translate a payload that ``parse_webhook`` verified when it arrived (read back by
        the worker: re-verifying would fail the freshness window whenever a queue is slow)."""
        return _translate_event(json.loads(payload, parse_float=Decimal))

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> InboundEvent:
        secret = self._creds.cashfree_client_secret
        if not secret:
            raise ProviderUnavailable("Cashfree webhooks need CASHFREE_CLIENT_SECRET.",
                                      code="provider_unavailable")
        signature = header_value(headers, "x-webhook-signature") or ""
        timestamp = header_value(headers, "x-webhook-timestamp") or ""
        if not signature or not timestamp.isdigit():
            raise WebhookVerificationError("Cashfree webhook lacks its signature headers.",
                                           code="webhook_signature_missing")
        expected = base64.b64encode(hmac.new(secret.encode(), timestamp.encode() + body,
                                             hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise WebhookVerificationError("Cashfree webhook signature does not match.",
                                           code="webhook_signature_invalid")
        # Checked after the signature so an attacker learns nothing from which check failed.
        if abs(time.time() * 1000 - int(timestamp)) > WEBHOOK_TOLERANCE_MS:
            raise WebhookVerificationError("Cashfree webhook timestamp is outside the 5 "
                                           "minute tolerance.", code="webhook_stale")
        try:
            event = json.loads(body, parse_float=Decimal)
        except ValueError:
            raise WebhookVerificationError("Cashfree webhook body is not JSON.",
                                           code="webhook_malformed") from None
        return _translate_event(event)


def _translate_event(event: Mapping) -> InboundEvent:
    event_type = str(event.get("type"))
    data = event.get("data") or {}
    if event_type in _PAYMENT_EVENTS:
        order, attempt = data.get("order") or {}, data.get("payment") or {}
        outcome = _PAYMENT_EVENTS[event_type]
        currency = str(attempt.get("payment_currency") or order.get("order_currency")
                       or CURRENCY)
        code, message = ((_attempt_failure({**attempt, "error_details": data.get(
            "error_details")})) if outcome is Outcome.FAILED else (None, None))
        order_id = order.get("order_id")
        return InboundEvent(
            provider_event_id=f"{event_type}:{order_id}:{attempt.get('cf_payment_id')}",
            event_type=event_type, kind="payment", outcome=outcome,
            payment_id=(order.get("order_tags") or {}).get("gateway_payment_id") or order_id,
            provider_payment_id=order_id,
            amount=_minor(attempt.get("payment_amount", order.get("order_amount")), currency),
            currency=currency, failure_code=code, failure_message=message,
            attempt_only=outcome is Outcome.FAILED)
    if event_type == "REFUND_STATUS_WEBHOOK":
        refund = data.get("refund") or {}
        refund_outcome = _REFUND_OUTCOMES.get(refund.get("refund_status") or "")
        currency = str(refund.get("refund_currency") or CURRENCY)
        return InboundEvent(
            provider_event_id=f"{event_type}:{refund.get('refund_id')}:"
                              f"{refund.get('refund_status')}",
            event_type=event_type, kind="refund" if refund_outcome is not None else None,
            outcome=refund_outcome, payment_id=refund.get("order_id"),
            refund_id=refund.get("refund_id"), provider_payment_id=refund.get("order_id"),
            provider_refund_id=str(refund["cf_refund_id"]) if refund.get("cf_refund_id")
            else None,
            amount=_minor(refund.get("refund_amount"), currency), currency=currency,
            failure_code=refund.get("refund_status") if refund_outcome is Outcome.FAILED else None)
    return InboundEvent(provider_event_id=f"{event_type}:{event.get('event_time')}",
                        event_type=event_type, kind=None)
