"""Stripe, through the official SDK and the PaymentIntents API.

Card payments are created and confirmed in one call, with our payment id as the Stripe
idempotency key, so a retried worker task gets the same PaymentIntent back instead of a second
charge. Every PaymentIntent and Refund status is mapped explicitly; a status we do not know
raises ``ProviderError`` rather than being guessed.

Status decisions worth knowing:
  * ``requires_confirmation``: we always confirm at creation, so this only appears if the
    intent was touched outside the gateway. Nothing has moved: PROCESSING, and reconciliation
    keeps polling until the gateway expires the payment.
  * ``requires_capture``: we never ask for manual capture, so funds authorised but not captured
    are not money moved: PROCESSING (Stripe captures automatically or the authorisation
    lapses, both of which arrive as later statuses).
  * ``requires_action``: PROCESSING with ``next_action`` ``{"type": "redirect", "url": ...}``
    for 3-D Secure redirects, or ``{"type": "stripe_sdk", "payment_intent_id", "client_secret"}``
    when Stripe.js must handle the action in the browser.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Literal, cast

import requests
import stripe
from stripe.params import PaymentIntentCreateParams, RefundCreateParams

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
from shared.providers.integrity import checked
from shared.providers.redaction import redact
from shared.providers.webhook_headers import header_value

log = logging.getLogger(__name__)

WEBHOOK_TOLERANCE_S = 300
_CREDENTIALS = "STRIPE_SECRET_KEY"

# Refund creation errors that mean "this refund will not happen" rather than "our request
# was malformed": the refund is FAILED with Stripe's code, not an operator error.
_REFUND_DECLINE_CODES = frozenset({
    "charge_already_refunded", "amount_too_large", "charge_disputed",
    "charge_expired_for_refund", "insufficient_funds", "balance_insufficient",
    "refund_disputed_payment",
})
_RefundReason = Literal["duplicate", "fraudulent", "requested_by_customer"]
_STRIPE_REFUND_REASONS: dict[str, _RefundReason] = {
    "duplicate": "duplicate", "fraudulent": "fraudulent",
    "requested_by_customer": "requested_by_customer"}

_INTENT_EVENTS = {
    "payment_intent.succeeded": Outcome.SUCCEEDED,
    "payment_intent.payment_failed": Outcome.FAILED,
    "payment_intent.canceled": Outcome.FAILED,
    "payment_intent.processing": Outcome.PROCESSING,
    "payment_intent.requires_action": Outcome.PROCESSING,
    "payment_intent.amount_capturable_updated": Outcome.PROCESSING,
}
_REFUND_EVENTS = ("refund.created", "refund.updated", "refund.failed", "charge.refund.updated")


def _stripe_dict(obj) -> dict:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _error_body(exc: stripe.StripeError) -> dict:
    """The ``error`` object of a Stripe error response ({} when there is none)."""
    json_body = exc.json_body if isinstance(exc.json_body, dict) else {}
    return json_body.get("error") or {}


def _translate(exc: stripe.StripeError, request_copy: dict) -> ProviderError:
    """Stripe SDK exception -> the gateway's provider error. Declines are handled by callers."""
    response = {"http_status": exc.http_status,
                "body": redact(exc.json_body) if isinstance(exc.json_body, dict) else None}
    if isinstance(exc, (stripe.AuthenticationError, stripe.PermissionError)):
        return ProviderConfigError(
            f"Stripe rejected our credentials (HTTP {exc.http_status}); check {_CREDENTIALS}.",
            code="provider_authentication_failed", request=request_copy, response=response)
    if isinstance(exc, stripe.RateLimitError):
        return ProviderTransientError("Stripe is rate limiting us (HTTP 429).",
                                      code="provider_rate_limited", request=request_copy,
                                      response=response)
    if isinstance(exc, stripe.APIConnectionError):
        # The SDK folds timeouts into connection errors; its message names the cause.
        cause = exc.__cause__ or exc.__context__
        timed_out = isinstance(cause, requests.Timeout) or "Timeout" in str(exc)
        return ProviderTransientError(
            "Stripe did not answer in time." if timed_out else "Could not connect to Stripe.",
            code="provider_timeout" if timed_out else "provider_unreachable",
            request=request_copy)
    if isinstance(exc, stripe.APIError) or (exc.http_status or 0) >= 500:
        return ProviderTransientError(f"Stripe server error (HTTP {exc.http_status}).",
                                      code="provider_server_error", request=request_copy,
                                      response=response)
    if isinstance(exc, stripe.IdempotencyError):
        # Same key, different parameters: our bug or a tampered retry, never retryable.
        return ProviderError("Stripe refused a reused idempotency key with other parameters.",
                             code="provider_idempotency_conflict", request=request_copy,
                             response=response)
    return ProviderConfigError(f"Stripe rejected the request: {exc.user_message}",
                               code=getattr(exc, "code", None) or "provider_invalid_request",
                               request=request_copy, response=response)


def _failure_code(error: Mapping | None, default: str) -> tuple[str, str | None]:
    if not error:
        return default, None
    return (error.get("decline_code") or error.get("code") or default), error.get("message")


def _intent_next_action(intent: Mapping) -> dict | None:
    action = intent.get("next_action") or {}
    if action.get("type") == "redirect_to_url":
        return {"type": "redirect", "url": (action.get("redirect_to_url") or {}).get("url")}
    # 3-D Secure challenges and wallets are driven by Stripe.js in the browser.
    return {"type": "stripe_sdk", "payment_intent_id": intent.get("id"),
            "client_secret": intent.get("client_secret")}


class StripeProvider:
    name = "stripe"

    def __init__(self, config: Config) -> None:
        self._creds = config.providers
        self._timeout_s = config.provider_timeout_s
        self._client: stripe.StripeClient | None = None

    def missing_credentials(self) -> list[str]:
        needed = {"STRIPE_SECRET_KEY": self._creds.stripe_secret_key,
                  "STRIPE_WEBHOOK_SECRET": self._creds.stripe_webhook_secret}
        return [name for name, value in needed.items() if not value]

    @property
    def client(self) -> stripe.StripeClient:
        if not self._creds.stripe_secret_key:
            raise ProviderUnavailable("Stripe is not configured (STRIPE_SECRET_KEY is empty).",
                                      code="provider_unavailable")
        if self._client is None:
            self._client = stripe.StripeClient(
                self._creds.stripe_secret_key,
                base_addresses={"api": self._creds.stripe_api_base},
                http_client=stripe.RequestsClient(timeout=self._timeout_s),
                # The worker owns retries (with backoff and the same idempotency key); SDK
                # retries would hide transient failures from it and multiply the wait.
                max_network_retries=0,
            )
        return self._client

    # --- payments ------------------------------------------------------------------------

    def create_payment(self, request: PaymentRequest) -> PaymentResult:
        method = dict(request.method)
        token = str(method.get("token") or "")
        if method.get("type") != "card" or not token.startswith(("pm_", "tok_")):
            raise ProviderConfigError(
                "Stripe accepts card payment methods with a pm_ or tok_ token only.",
                code="payment_method_unsupported")
        metadata = {"gateway_payment_id": request.payment_id}
        if request.order_id:
            metadata["gateway_order_id"] = request.order_id
        params: dict = {
            "amount": request.amount,
            "currency": request.currency.lower(),
            "confirm": True,
            "payment_method_types": ["card"],
            "metadata": metadata,
        }
        if token.startswith("pm_"):
            params["payment_method"] = token
        else:
            params["payment_method_data"] = {"type": "card", "card": {"token": token}}
        if request.description:
            params["description"] = request.description
        if request.return_url:
            params["return_url"] = request.return_url
        request_copy = {"endpoint": "POST /v1/payment_intents",
                        "idempotency_key": request.payment_id, "params": redact(params)}
        try:
            # cast: params may carry payment_method_data.card (a tok_ token), which Stripe
            # accepts but its typed PaymentIntentCreateParams do not declare.
            intent = _stripe_dict(self.client.v1.payment_intents.create(
                params=cast(PaymentIntentCreateParams, params),
                options={"idempotency_key": request.payment_id}))
        except stripe.CardError as exc:
            # A decline: Stripe answers 402 and attaches the PaymentIntent it left behind.
            body = _error_body(exc)
            declined_intent = body.get("payment_intent")
            if declined_intent:
                return checked(request, self._intent_result(declined_intent, request_copy),
                               "Stripe")
            code, message = _failure_code(body, "card_declined")
            return PaymentResult(outcome=Outcome.FAILED, amount=request.amount,
                                 currency=request.currency, failure_code=code,
                                 failure_message=message, request=request_copy,
                                 response={"http_status": exc.http_status, "body": redact(body)})
        except stripe.StripeError as exc:
            raise _translate(exc, request_copy) from None
        return checked(request, self._intent_result(intent, request_copy), "Stripe")

    def fetch_payment(self, payment_id: str, provider_payment_id: str | None) -> PaymentResult:
        request_copy = {"endpoint": "GET /v1/payment_intents", "payment_id": payment_id,
                        "provider_payment_id": provider_payment_id}
        try:
            if provider_payment_id:
                intent = _stripe_dict(self.client.v1.payment_intents.retrieve(
                    provider_payment_id))
            else:
                # The create call never told us the intent id (timeout): find it by our id.
                found = self.client.v1.payment_intents.search(params={
                    "query": f"metadata['gateway_payment_id']:'{payment_id}'"})
                matches = [_stripe_dict(i) for i in found.data]
                if not matches:
                    raise ProviderError(f"Stripe has no PaymentIntent for {payment_id}.",
                                        code="provider_payment_not_found",
                                        request=request_copy)
                intent = matches[0]
        except stripe.StripeError as exc:
            raise _translate(exc, request_copy) from None
        if (intent.get("metadata") or {}).get("gateway_payment_id") != payment_id:
            raise ProviderError(f"Stripe PaymentIntent {intent.get('id')} is not {payment_id}.",
                                code="provider_payment_mismatch", request=request_copy,
                                response=redact(intent))
        return self._intent_result(intent, request_copy)

    def _intent_result(self, intent: Mapping, request_copy: dict) -> PaymentResult:
        response_copy = redact(dict(intent))
        status = intent.get("status")
        common = {"provider_payment_id": intent.get("id"), "amount": intent.get("amount"),
                  "currency": str(intent.get("currency") or "").upper() or None,
                  "request": request_copy, "response": response_copy}
        if status == "succeeded":
            return PaymentResult(outcome=Outcome.SUCCEEDED, **common)
        if status in ("processing", "requires_confirmation", "requires_capture"):
            return PaymentResult(outcome=Outcome.PROCESSING, **common)
        if status == "requires_action":
            return PaymentResult(outcome=Outcome.PROCESSING,
                                 next_action=_intent_next_action(intent), **common)
        if status == "requires_payment_method":
            code, message = _failure_code(intent.get("last_payment_error"),
                                          "payment_method_required")
            return PaymentResult(outcome=Outcome.FAILED, failure_code=code,
                                 failure_message=message, **common)
        if status == "canceled":
            code, message = _failure_code(intent.get("last_payment_error"),
                                          intent.get("cancellation_reason") or "canceled")
            return PaymentResult(outcome=Outcome.FAILED, failure_code=code,
                                 failure_message=message, **common)
        raise ProviderError(f"Stripe PaymentIntent status {status!r} is not one we know.",
                            code="provider_unknown_status", request=request_copy,
                            response=response_copy)

    # --- refunds -------------------------------------------------------------------------

    def refund(self, request: RefundRequest) -> RefundResult:
        if not request.provider_payment_id:
            raise ProviderError(f"Payment {request.payment_id} never reached Stripe; "
                                "nothing to refund.", code="provider_payment_id_missing")
        params: RefundCreateParams = {
            "payment_intent": request.provider_payment_id,
            "amount": request.amount,
            "metadata": {"gateway_refund_id": request.refund_id,
                         "gateway_payment_id": request.payment_id},
        }
        reason = _STRIPE_REFUND_REASONS.get(request.reason or "")
        if reason is not None:
            params["reason"] = reason
        request_copy = {"endpoint": "POST /v1/refunds", "idempotency_key": request.refund_id,
                        "params": redact(params)}
        try:
            refund = _stripe_dict(self.client.v1.refunds.create(
                params=params, options={"idempotency_key": request.refund_id}))
        except stripe.InvalidRequestError as exc:
            body = _error_body(exc)
            if exc.code in _REFUND_DECLINE_CODES:
                return RefundResult(outcome=Outcome.FAILED, amount=request.amount,
                                    currency=request.currency, failure_code=exc.code,
                                    failure_message=body.get("message"), request=request_copy,
                                    response={"http_status": exc.http_status,
                                              "body": redact(body)})
            raise _translate(exc, request_copy) from None
        except stripe.StripeError as exc:
            raise _translate(exc, request_copy) from None
        return checked(request, self._refund_result(refund, request_copy), "Stripe")

    def fetch_refund(self, refund_id: str, provider_refund_id: str | None,
                     provider_payment_id: str | None) -> RefundResult:
        request_copy = {"endpoint": "GET /v1/refunds", "refund_id": refund_id,
                        "provider_refund_id": provider_refund_id}
        try:
            if provider_refund_id:
                refund = _stripe_dict(self.client.v1.refunds.retrieve(provider_refund_id))
            elif provider_payment_id:
                listed = self.client.v1.refunds.list(
                    params={"payment_intent": provider_payment_id, "limit": 100})
                # Refund objects are not dicts (no .get): convert, then match our id.
                found = [r for r in map(_stripe_dict, listed.data)
                         if (r.get("metadata") or {}).get("gateway_refund_id") == refund_id]
                if not found:
                    raise ProviderError(f"Stripe has no refund for {refund_id}.",
                                        code="provider_refund_not_found", request=request_copy)
                refund = found[0]
            else:
                raise ProviderError("A Stripe refund lookup needs the refund or intent id.",
                                    code="provider_refund_not_found", request=request_copy)
        except stripe.StripeError as exc:
            raise _translate(exc, request_copy) from None
        return self._refund_result(refund, request_copy)

    def _refund_result(self, refund: Mapping, request_copy: dict) -> RefundResult:
        response_copy = redact(dict(refund))
        outcome = _refund_outcome(refund.get("status"))
        if outcome is None:
            raise ProviderError(f"Stripe refund status {refund.get('status')!r} is unknown.",
                                code="provider_unknown_status", request=request_copy,
                                response=response_copy)
        failed = outcome is Outcome.FAILED
        return RefundResult(
            outcome=outcome, provider_refund_id=refund.get("id"), amount=refund.get("amount"),
            currency=str(refund.get("currency") or "").upper() or None,
            failure_code=(refund.get("failure_reason") or refund.get("status")) if failed
            else None,
            request=request_copy, response=response_copy)

    # --- webhooks ------------------------------------------------------------------------

    def read_verified_webhook(self, provider_event_id: str, payload: str) -> InboundEvent:
        """Translate a payload that ``parse_webhook`` verified when it arrived (read back by
        the worker: re-verifying would fail the freshness window whenever a queue is slow)."""
        return _translate_event(json.loads(payload))

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> InboundEvent:
        secret = self._creds.stripe_webhook_secret
        if not secret:
            raise ProviderUnavailable("Stripe webhooks are not configured "
                                      "(STRIPE_WEBHOOK_SECRET is empty).",
                                      code="provider_unavailable")
        signature = header_value(headers, "Stripe-Signature")
        try:
            event = stripe.Webhook.construct_event(body, signature, secret,
                                                   tolerance=WEBHOOK_TOLERANCE_S)
        except stripe.SignatureVerificationError as exc:
            # The SDK message says which check failed; it never contains the secret.
            raise WebhookVerificationError(f"Stripe webhook rejected: {exc.user_message}",
                                           code="webhook_signature_invalid") from None
        except ValueError:
            raise WebhookVerificationError("Stripe webhook body is not a JSON event.",
                                           code="webhook_malformed") from None
        return _translate_event(_stripe_dict(event))


def _refund_outcome(status: str | None) -> Outcome | None:
    return {"succeeded": Outcome.SUCCEEDED, "pending": Outcome.PROCESSING,
            "requires_action": Outcome.PROCESSING, "failed": Outcome.FAILED,
            "canceled": Outcome.FAILED}.get(status or "")


def _translate_event(event: Mapping) -> InboundEvent:
    event_id, event_type = str(event.get("id")), str(event.get("type"))
    obj = (event.get("data") or {}).get("object") or {}
    if event_type in _INTENT_EVENTS:
        outcome = _INTENT_EVENTS[event_type]
        code = message = None
        if outcome is Outcome.FAILED:
            code, message = _failure_code(obj.get("last_payment_error"),
                                          obj.get("cancellation_reason") or "payment_failed")
        return InboundEvent(
            provider_event_id=event_id, event_type=event_type, kind="payment", outcome=outcome,
            payment_id=(obj.get("metadata") or {}).get("gateway_payment_id"),
            provider_payment_id=obj.get("id"), amount=obj.get("amount"),
            currency=str(obj.get("currency") or "").upper() or None,
            failure_code=code, failure_message=message)
    refund = None
    if event_type in _REFUND_EVENTS:
        refund = obj
    elif event_type == "charge.refunded":
        # Charges only embed their refunds on older API versions; without them the refund.*
        # events carry the details and this one changes nothing.
        listed = (obj.get("refunds") or {}).get("data") or []
        refund = max(listed, key=lambda r: r.get("created") or 0) if listed else None
    if refund is None:
        return InboundEvent(provider_event_id=event_id, event_type=event_type, kind=None)
    refund_outcome = _refund_outcome(refund.get("status"))
    metadata = refund.get("metadata") or {}
    return InboundEvent(
        provider_event_id=event_id, event_type=event_type,
        kind="refund" if refund_outcome is not None else None, outcome=refund_outcome,
        payment_id=metadata.get("gateway_payment_id"), refund_id=metadata.get("gateway_refund_id"),
        provider_payment_id=refund.get("payment_intent"), provider_refund_id=refund.get("id"),
        amount=refund.get("amount"), currency=str(refund.get("currency") or "").upper() or None,
        failure_code=refund.get("failure_reason") if refund_outcome is Outcome.FAILED else None)
