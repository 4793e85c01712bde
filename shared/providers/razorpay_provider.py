"""Razorpay, through the official SDK: Orders + Standard Checkout.

The customer pays in Razorpay Checkout, so ``create_payment`` only creates an order and
returns PROCESSING with ``next_action``::

    {"type": "razorpay_checkout", "order_id": "order_...", "key_id": "rzp_...",
     "amount": 1050, "currency": "INR", "notes": {"gateway_payment_id": "pay_..."}}

The front end opens Checkout with these (passing ``notes`` through so Razorpay's payment
events echo our id) and posts back ``razorpay_payment_id`` / ``razorpay_signature``, which
``verify_checkout_signature`` checks.

Ids: ``provider_payment_id`` is always the Razorpay *order* id. Razorpay's own payment id
(``pay_...`` on their side) is not stored; ``fetch_payment`` and ``refund`` look up the
order's payments and use the captured one. That keeps one stable id per gateway payment even
when the customer makes several attempts inside Checkout.

Idempotency: Razorpay has no idempotency key for orders or refunds, so both are looked up
before they are created: orders by ``receipt`` (= our payment id, a filter Razorpay's order
list supports), refunds by ``receipt`` / ``notes.gateway_refund_id`` among the payment's
refunds. A worker retry after a timeout therefore finds what the first attempt made.

Outcome of an order, from its payments: any captured (or since refunded) payment is
SUCCEEDED; anything else is PROCESSING (authorized payments are auto-captured by Razorpay;
after only failed attempts the customer may still retry inside Checkout, so the latest
``error_reason`` is reported but nothing is final). A ``payment.failed`` webhook is likewise
one attempt (``attempt_only``). The gateway ends the checkout when it expires; a capture after
that is a late capture (shared/payments/review.py).
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping

import razorpay
from razorpay.errors import BadRequestError, GatewayError, ServerError, SignatureVerificationError

from shared.config import Config
from shared.errors import (
    ProviderConfigError,
    ProviderError,
    ProviderTransientError,
    ProviderUnavailable,
    WebhookVerificationError,
)
from shared.providers.base import (
    InboundEvent,
    Outcome,
    PaymentRequest,
    PaymentResult,
    RefundRequest,
    RefundResult,
)
from shared.providers.http_transport import GuardedSession
from shared.providers.integrity import checked
from shared.providers.redaction import redact
from shared.providers.webhook_headers import header_value

log = logging.getLogger(__name__)

_CREDENTIALS = "RAZORPAY_KEY_ID / RAZORPAY_KEY_SECRET"

_PAYMENT_STATUSES = {"captured", "refunded", "authorized", "created", "failed"}
_REFUND_OUTCOMES = {"processed": Outcome.SUCCEEDED, "pending": Outcome.PROCESSING,
                    "created": Outcome.PROCESSING, "failed": Outcome.FAILED}
_PAYMENT_EVENTS = {"payment.captured": Outcome.SUCCEEDED, "order.paid": Outcome.SUCCEEDED,
                   "payment.failed": Outcome.FAILED, "payment.authorized": Outcome.PROCESSING}
_REFUND_EVENTS = {"refund.processed": Outcome.SUCCEEDED, "refund.failed": Outcome.FAILED,
                  "refund.created": Outcome.PROCESSING}


def sdk_base_url(configured: str) -> str:
    """The SDK appends ``/v1/...`` itself; RAZORPAY_BASE_URL is documented with ``/v1``."""
    base = configured.rstrip("/")
    return base.removesuffix("/v1")


def _translate(exc: Exception, request_copy: dict) -> ProviderError:
    """SDK exceptions that got past ``GuardedSession`` (which handles 401/403/429/5xx)."""
    if isinstance(exc, (GatewayError, ServerError)):
        return ProviderTransientError(f"Razorpay reported a gateway/server error: {exc}",
                                      code="provider_server_error", request=request_copy)
    if isinstance(exc, BadRequestError):
        return ProviderConfigError(f"Razorpay rejected the request: {exc}",
                                   code="provider_invalid_request", request=request_copy)
    return ProviderError(f"Unexpected Razorpay response: {type(exc).__name__}",
                         code="provider_bad_response", request=request_copy)


def _failure(payment: Mapping) -> tuple[str, str | None]:
    return (payment.get("error_reason") or payment.get("error_code") or "payment_failed",
            payment.get("error_description"))


class RazorpayProvider:
    name = "razorpay"

    def __init__(self, config: Config) -> None:
        self._creds = config.providers
        self._timeout_s = config.provider_timeout_s
        self._client: razorpay.Client | None = None

    def missing_credentials(self) -> list[str]:
        needed = {"RAZORPAY_KEY_ID": self._creds.razorpay_key_id,
                  "RAZORPAY_KEY_SECRET": self._creds.razorpay_key_secret,
                  "RAZORPAY_WEBHOOK_SECRET": self._creds.razorpay_webhook_secret}
        return [name for name, value in needed.items() if not value]

    @property
    def client(self) -> razorpay.Client:
        if not (self._creds.razorpay_key_id and self._creds.razorpay_key_secret):
            raise ProviderUnavailable(f"Razorpay is not configured ({_CREDENTIALS} empty).",
                                      code="provider_unavailable")
        if self._client is None:
            session = GuardedSession("Razorpay", self._timeout_s, _CREDENTIALS)
            self._client = razorpay.Client(
                session=session,
                auth=(self._creds.razorpay_key_id, self._creds.razorpay_key_secret),
                base_url=sdk_base_url(self._creds.razorpay_base_url))
        return self._client

    def _call(self, request_copy: dict, fn, *args):
        try:
            return fn(*args)
        except (BadRequestError, GatewayError, ServerError, ValueError) as exc:
            raise _translate(exc, request_copy) from None

    # --- payments ------------------------------------------------------------------------

    def create_payment(self, request: PaymentRequest) -> PaymentResult:
        notes = {"gateway_payment_id": request.payment_id}
        if request.order_id:
            notes["gateway_order_id"] = request.order_id
        params = {"amount": request.amount, "currency": request.currency,
                  "receipt": request.payment_id, "notes": notes}
        request_copy = {"endpoint": "POST /v1/orders", "params": redact(params)}
        order = self._order_by_receipt(request.payment_id, request_copy)
        if order is None:
            order = self._call(request_copy, self.client.order.create, params)
        result = checked(request, self._order_result(order, request_copy), "Razorpay")
        if result.outcome is not Outcome.PROCESSING:
            return result
        next_action = {"type": "razorpay_checkout", "order_id": order["id"],
                       "key_id": self._creds.razorpay_key_id, "amount": order["amount"],
                       "currency": order["currency"], "notes": notes}
        return PaymentResult(outcome=Outcome.PROCESSING, provider_payment_id=order["id"],
                             amount=order["amount"], currency=order["currency"],
                             next_action=next_action, request=request_copy,
                             response=result.response)

    def _order_by_receipt(self, payment_id: str, request_copy: dict) -> dict | None:
        found = self._call(request_copy, self.client.order.all, {"receipt": payment_id})
        items = [o for o in found.get("items", []) if o.get("receipt") == payment_id]
        return min(items, key=lambda o: o.get("created_at") or 0) if items else None

    def _order(self, payment_id: str, order_id: str | None, request_copy: dict) -> dict:
        order = (self._call(request_copy, self.client.order.fetch, order_id) if order_id
                 else self._order_by_receipt(payment_id, request_copy))
        if order is None:
            raise ProviderError(f"Razorpay has no order for {payment_id}.",
                                code="provider_payment_not_found", request=request_copy)
        if order.get("receipt") != payment_id:
            raise ProviderError(f"Razorpay order {order.get('id')} is not {payment_id}.",
                                code="provider_payment_mismatch", request=request_copy,
                                response=redact(order))
        return order

    def _order_payments(self, order_id: str, request_copy: dict) -> list[dict]:
        listed = self._call(request_copy, self.client.order.payments, order_id)
        payments = list(listed.get("items", []))
        unknown = {p.get("status") for p in payments} - _PAYMENT_STATUSES
        if unknown:
            raise ProviderError(f"Razorpay payment status {sorted(unknown)} is not one we know.",
                                code="provider_unknown_status", request=request_copy,
                                response=redact(listed))
        return payments

    def fetch_payment(self, payment_id: str, provider_payment_id: str | None) -> PaymentResult:
        request_copy = {"endpoint": "GET /v1/orders/{id}", "payment_id": payment_id,
                        "provider_payment_id": provider_payment_id}
        return self._order_result(self._order(payment_id, provider_payment_id, request_copy),
                                  request_copy)

    def _order_result(self, order: Mapping, request_copy: dict) -> PaymentResult:
        payments = self._order_payments(order["id"], request_copy)
        response_copy = {"order": redact(dict(order)), "payments": redact(payments)}
        common = {"provider_payment_id": order["id"], "amount": order.get("amount"),
                  "currency": order.get("currency"), "request": request_copy,
                  "response": response_copy}
        statuses = {p["status"] for p in payments}
        if statuses & {"captured", "refunded"}:
            return PaymentResult(outcome=Outcome.SUCCEEDED, **common)
        if statuses & {"created", "authorized"} or not payments:
            return PaymentResult(outcome=Outcome.PROCESSING, **common)
        # Only failed attempts: the order stays open and the customer may retry inside
        # Checkout, so nothing is final yet (the gateway expires the checkout). The latest
        # failure is reported for information.
        latest = max(payments, key=lambda p: p.get("created_at") or 0)
        code, message = _failure(latest)
        return PaymentResult(outcome=Outcome.PROCESSING, failure_code=code,
                             failure_message=message, **common)

    def verify_checkout_signature(self, order_id: str, payment_id: str, signature: str) -> bool:
        """Whether ``signature`` (from Checkout's handler) is Razorpay's HMAC-SHA256 of
        ``order_id|payment_id`` under our key secret. Proves the customer really paid this
        order; the payment is still confirmed through ``fetch_payment`` or a webhook."""
        try:
            return bool(self.client.utility.verify_payment_signature({
                "razorpay_order_id": order_id, "razorpay_payment_id": payment_id,
                "razorpay_signature": signature}))
        except SignatureVerificationError:
            return False

    # --- refunds -------------------------------------------------------------------------

    def _captured_payment(self, payment_id: str, order_id: str | None,
                          request_copy: dict) -> tuple[dict, dict]:
        order = self._order(payment_id, order_id, request_copy)
        captured = [p for p in self._order_payments(order["id"], request_copy)
                    if p["status"] in ("captured", "refunded")]
        if not captured:
            raise ProviderError(f"Razorpay order {order['id']} has no captured payment.",
                                code="provider_payment_not_captured", request=request_copy)
        return order, captured[0]

    def _existing_refund(self, rzp_payment_id: str, refund_id: str,
                         request_copy: dict) -> dict | None:
        listed = self._call(request_copy, self.client.payment.fetch_multiple_refund,
                            rzp_payment_id)
        for refund in listed.get("items", []):
            if refund_id in (refund.get("receipt"), (refund.get("notes") or {}).get(
                    "gateway_refund_id")):
                return refund
        return None

    def refund(self, request: RefundRequest) -> RefundResult:
        params = {"amount": request.amount, "speed": "normal", "receipt": request.refund_id,
                  "notes": {"gateway_refund_id": request.refund_id,
                            "gateway_payment_id": request.payment_id}}
        request_copy = {"endpoint": "POST /v1/payments/{id}/refund", "params": redact(params)}
        _, payment = self._captured_payment(request.payment_id, request.provider_payment_id,
                                            request_copy)
        request_copy["razorpay_payment_id"] = payment["id"]
        refund = self._existing_refund(payment["id"], request.refund_id, request_copy)
        if refund is None:
            try:
                refund = self.client.payment.refund(payment["id"], params)
            except BadRequestError as exc:
                # Razorpay refuses refunds it will not make (amount above what is left,
                # payment too old) with BAD_REQUEST_ERROR: the refund failed, nothing moved.
                return RefundResult(outcome=Outcome.FAILED, amount=request.amount,
                                    currency=request.currency, failure_code="BAD_REQUEST_ERROR",
                                    failure_message=str(exc), request=request_copy)
            except (GatewayError, ServerError, ValueError) as exc:
                raise _translate(exc, request_copy) from None
        return checked(request, self._refund_result(refund, request_copy), "Razorpay")

    def fetch_refund(self, refund_id: str, provider_refund_id: str | None,
                     provider_payment_id: str | None) -> RefundResult:
        request_copy = {"endpoint": "GET /v1/refunds/{id}", "refund_id": refund_id,
                        "provider_refund_id": provider_refund_id}
        if provider_refund_id:
            refund = self._call(request_copy, self.client.refund.fetch, provider_refund_id)
        elif provider_payment_id:
            order = self._call(request_copy, self.client.order.fetch, provider_payment_id)
            _, payment = self._captured_payment(order.get("receipt", ""), order["id"],
                                                request_copy)
            refund = self._existing_refund(payment["id"], refund_id, request_copy)
            if refund is None:
                raise ProviderError(f"Razorpay has no refund for {refund_id}.",
                                    code="provider_refund_not_found", request=request_copy)
        else:
            raise ProviderError("A Razorpay refund lookup needs the refund or order id.",
                                code="provider_refund_not_found", request=request_copy)
        return self._refund_result(refund, request_copy)

    def _refund_result(self, refund: Mapping, request_copy: dict) -> RefundResult:
        outcome = _REFUND_OUTCOMES.get(refund.get("status", ""))
        if outcome is None:
            raise ProviderError(f"Razorpay refund status {refund.get('status')!r} is unknown.",
                                code="provider_unknown_status", request=request_copy,
                                response=redact(dict(refund)))
        return RefundResult(
            outcome=outcome, provider_refund_id=refund.get("id"), amount=refund.get("amount"),
            currency=refund.get("currency"),
            failure_code="refund_failed" if outcome is Outcome.FAILED else None,
            request=request_copy, response=redact(dict(refund)))

    # --- webhooks ------------------------------------------------------------------------

    def read_verified_webhook(self, provider_event_id: str, payload: str) -> InboundEvent:
        """Translate a payload that ``parse_webhook`` verified when it arrived (read back by
        the worker: re-verifying would fail the freshness window whenever a queue is slow)."""
        return _translate_event(provider_event_id, json.loads(payload))

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> InboundEvent:
        secret = self._creds.razorpay_webhook_secret
        if not secret:
            raise ProviderUnavailable("Razorpay webhooks are not configured "
                                      "(RAZORPAY_WEBHOOK_SECRET is empty).",
                                      code="provider_unavailable")
        signature = header_value(headers, "X-Razorpay-Signature")
        if not signature:
            raise WebhookVerificationError("Razorpay webhook has no X-Razorpay-Signature.",
                                           code="webhook_signature_missing")
        try:
            text = body.decode("utf-8")
            # Razorpay's scheme has no timestamp: replays are harmless because we only ever
            # move a payment or refund forward, and the event id dedupes them.
            razorpay.Utility().verify_webhook_signature(text, signature, secret)
        except (SignatureVerificationError, UnicodeDecodeError):
            raise WebhookVerificationError("Razorpay webhook signature does not match.",
                                           code="webhook_signature_invalid") from None
        try:
            event = json.loads(text)
        except ValueError:
            raise WebhookVerificationError("Razorpay webhook body is not JSON.",
                                           code="webhook_malformed") from None
        # Razorpay sends the event id only as a header; a hash of the signed body is a stable
        # stand-in if a proxy dropped it, so redeliveries still dedupe.
        event_id = (header_value(headers, "x-razorpay-event-id")
                    or "sha256:" + hashlib.sha256(body).hexdigest()[:32])
        return _translate_event(event_id, event)


def _entity(event: Mapping, name: str) -> dict:
    return ((event.get("payload") or {}).get(name) or {}).get("entity") or {}


def _translate_event(event_id: str, event: Mapping) -> InboundEvent:
    event_type = str(event.get("event"))
    payment, order, refund = (_entity(event, n) for n in ("payment", "order", "refund"))
    if event_type in _PAYMENT_EVENTS:
        outcome = _PAYMENT_EVENTS[event_type]
        code, message = _failure(payment) if outcome is Outcome.FAILED else (None, None)
        source = order or payment
        # Bound by the order id (ours: we created the order). ``notes`` is set by the
        # browser in Checkout, so it is only a claim, checked against the bound payment;
        # ``receipt`` (ours) is preferred when the order is in the event.
        return InboundEvent(
            provider_event_id=event_id, event_type=event_type, kind="payment",
            outcome=outcome,
            payment_id=order.get("receipt")
            or (payment.get("notes") or {}).get("gateway_payment_id"),
            provider_payment_id=order.get("id") or payment.get("order_id"),
            amount=source.get("amount"), currency=source.get("currency"),
            failure_code=code, failure_message=message,
            attempt_only=event_type == "payment.failed")
    if event_type in _REFUND_EVENTS:
        notes = refund.get("notes") or {}
        outcome = _REFUND_EVENTS[event_type]
        return InboundEvent(
            provider_event_id=event_id, event_type=event_type, kind="refund", outcome=outcome,
            payment_id=notes.get("gateway_payment_id"),
            refund_id=notes.get("gateway_refund_id") or refund.get("receipt"),
            provider_payment_id=payment.get("order_id"), provider_refund_id=refund.get("id"),
            amount=refund.get("amount"), currency=refund.get("currency"),
            failure_code="refund_failed" if outcome is Outcome.FAILED else None)
    return InboundEvent(provider_event_id=event_id, event_type=event_type, kind=None)
