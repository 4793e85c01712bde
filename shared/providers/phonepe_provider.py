"""PhonePe Standard Checkout (v1 "hermes" PG API) over ``requests``.

Requests are ``{"request": base64(json payload)}`` signed with
``X-VERIFY: sha256(base64 + path + salt_key) + "###" + salt_index``; GETs sign the path alone.
The customer pays on PhonePe's page, so ``create_payment`` returns PROCESSING with
``next_action`` ``{"type": "redirect", "url": ...}`` (PAY_PAGE) or ``{"type": "upi_collect",
"vpa": ...}`` (a UPI collect request the customer approves in their UPI app).

Ids: PhonePe addresses everything by the merchant's transaction id, so
``provider_payment_id`` is our payment id and ``provider_refund_id`` our refund id; PhonePe's
own ``transactionId`` is kept in the response copy only.

Callbacks carry ``{"response": base64(json)}``, ``X-VERIFY: sha256(response + salt_key) +
"###" + salt_index`` and, per PhonePe's "Handling Webhooks", ``Authorization:
SHA256(username:password)`` (hex) of the callback credentials configured on the PhonePe
dashboard (PHONEPE_WEBHOOK_USERNAME / PHONEPE_WEBHOOK_PASSWORD); both are checked in
constant time. PhonePe's scheme has no timestamp, so a replayed callback is
not refused: freshness comes from statuses only ever moving forward in the gateway and from
the derived event id (transaction id + state code), which dedupes replays. Callbacks for
refunds are told apart from payments by our refund id prefix (``rfnd_``).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping

from shared.config import Config
from shared.errors import (
    ProviderConfigError,
    ProviderError,
    ProviderTransientError,
    ProviderUnavailable,
    WebhookVerificationError,
)
from shared.ids import PREFIXES
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

PAY_PATH = "/pg/v1/pay"
REFUND_PATH = "/pg/v1/refund"
CALLBACK_PATH = "/api/v1/webhooks/phonepe"
_CREDENTIALS = "PHONEPE_MERCHANT_ID / PHONEPE_SALT_KEY / PHONEPE_SALT_INDEX"
_REFUND_PREFIX = PREFIXES["refund"] + "_"

# Every code PhonePe documents for pay, refund and status answers, mapped explicitly.
_OUTCOMES = {
    "PAYMENT_SUCCESS": Outcome.SUCCEEDED,
    "PAYMENT_PENDING": Outcome.PROCESSING,
    "PAYMENT_INITIATED": Outcome.PROCESSING,
    # PhonePe's guidance for a status answer of INTERNAL_SERVER_ERROR is "treat as pending and
    # check again": nothing final is known.
    "INTERNAL_SERVER_ERROR": Outcome.PROCESSING,
    "PAYMENT_ERROR": Outcome.FAILED,
    "PAYMENT_DECLINED": Outcome.FAILED,
    "TIMED_OUT": Outcome.FAILED,
    "PAYMENT_CANCELLED": Outcome.FAILED,
}
_CONFIG_CODES = frozenset({"BAD_REQUEST", "AUTHORIZATION_FAILED", "KEY_NOT_CONFIGURED",
                           "INVALID_TRANSACTION_ID"})
_NOT_FOUND_CODES = frozenset({"TRANSACTION_NOT_FOUND"})


def _b64(payload: dict) -> str:
    return base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


class PhonePeProvider:
    name = "phonepe"

    def __init__(self, config: Config) -> None:
        self._creds = config.providers
        self._base = config.providers.phonepe_base_url.rstrip("/")
        self._transport = JsonTransport("PhonePe", config.provider_timeout_s, _CREDENTIALS)

    def missing_credentials(self) -> list[str]:
        needed = {"PHONEPE_MERCHANT_ID": self._creds.phonepe_merchant_id,
                  "PHONEPE_SALT_KEY": self._creds.phonepe_salt_key,
                  "PHONEPE_SALT_INDEX": self._creds.phonepe_salt_index,
                  "PHONEPE_WEBHOOK_USERNAME": self._creds.phonepe_webhook_username,
                  "PHONEPE_WEBHOOK_PASSWORD": self._creds.phonepe_webhook_password}
        return [name for name, value in needed.items() if not value]

    def _require_api_credentials(self) -> None:
        if not (self._creds.phonepe_merchant_id and self._creds.phonepe_salt_key
                and self._creds.phonepe_salt_index):
            raise ProviderUnavailable(f"PhonePe is not configured ({_CREDENTIALS} empty).",
                                      code="provider_unavailable")

    def _x_verify(self, signed: str) -> str:
        digest = hashlib.sha256((signed + self._creds.phonepe_salt_key).encode()).hexdigest()
        return f"{digest}###{self._creds.phonepe_salt_index}"

    def _post(self, path: str, payload: dict, request_copy: dict) -> JsonResponse:
        self._require_api_credentials()
        encoded = _b64(payload)
        headers = {"Content-Type": "application/json", "accept": "application/json",
                   "X-VERIFY": self._x_verify(encoded + path)}
        return self._transport.send("POST", self._base + path, headers=headers,
                                    body={"request": encoded}, request_copy=request_copy)

    def _status(self, transaction_id: str, request_copy: dict) -> JsonResponse:
        self._require_api_credentials()
        mid = self._creds.phonepe_merchant_id
        path = f"/pg/v1/status/{mid}/{transaction_id}"
        headers = {"Content-Type": "application/json", "accept": "application/json",
                   "X-VERIFY": self._x_verify(path), "X-MERCHANT-ID": mid}
        return self._transport.send("GET", self._base + path, headers=headers,
                                    request_copy=request_copy)

    def _outcome(self, response: JsonResponse, request_copy: dict) -> tuple[Outcome, dict]:
        """The outcome of a pay/refund/status answer, or the error it means."""
        body = response.body if isinstance(response.body, dict) else {}
        code = str(body.get("code") or "")
        if code in _OUTCOMES:
            return _OUTCOMES[code], body
        if code == "TOO_MANY_REQUESTS":
            raise ProviderTransientError("PhonePe is rate limiting us.",
                                         code="provider_rate_limited", request=request_copy,
                                         response=response.redacted())
        if code in _CONFIG_CODES or response.status == 400:
            raise ProviderConfigError(f"PhonePe rejected the request ({code or 'HTTP 400'}): "
                                      f"{body.get('message')}", code="provider_invalid_request",
                                      request=request_copy, response=response.redacted())
        if code in _NOT_FOUND_CODES:
            raise ProviderError("PhonePe does not know this transaction.",
                                code="provider_payment_not_found", request=request_copy,
                                response=response.redacted())
        raise ProviderError(f"PhonePe answered an unknown code {code!r}.",
                            code="provider_unknown_status", request=request_copy,
                            response=response.redacted())

    # --- payments ------------------------------------------------------------------------

    def create_payment(self, request: PaymentRequest) -> PaymentResult:
        if request.currency != "INR":
            raise ProviderConfigError("PhonePe accepts INR only.",
                                      code="currency_unsupported")
        method = dict(request.method)
        if method.get("type") == "upi" and method.get("vpa"):
            instrument = {"type": "UPI_COLLECT", "vpa": method["vpa"]}
        else:
            instrument = {"type": "PAY_PAGE"}
        customer = dict(request.customer or {})
        public = self._creds.public_base_url.rstrip("/")
        payload = {
            "merchantId": self._creds.phonepe_merchant_id,
            "merchantTransactionId": request.payment_id,
            "merchantUserId": str(customer.get("id") or request.payment_id),
            "amount": request.amount,
            "redirectUrl": request.return_url or public + "/",
            "redirectMode": "REDIRECT",
            "callbackUrl": public + CALLBACK_PATH,
            "paymentInstrument": instrument,
        }
        if customer.get("phone"):
            payload["mobileNumber"] = str(customer["phone"])
        request_copy = {"endpoint": f"POST {PAY_PATH}", "payload": redact(payload)}
        response = self._post(PAY_PATH, payload, request_copy)
        outcome, body = self._outcome(response, request_copy)
        data = body.get("data") or {}
        common: PaymentResultFields = {
            "provider_payment_id": request.payment_id, "amount": request.amount,
            "currency": "INR", "request": request_copy, "response": response.redacted()}
        if outcome is Outcome.FAILED:
            return PaymentResult(outcome=outcome, failure_code=body.get("code"),
                                 failure_message=body.get("message"), **common)
        if outcome is Outcome.SUCCEEDED:
            return PaymentResult(outcome=outcome, **common)
        instrument_response = data.get("instrumentResponse") or {}
        if instrument_response.get("type") == "PAY_PAGE":
            url = (instrument_response.get("redirectInfo") or {}).get("url")
            if not url:
                raise ProviderError("PhonePe initiated a PAY_PAGE payment without a URL.",
                                    code="provider_bad_response", request=request_copy,
                                    response=response.redacted())
            next_action = {"type": "redirect", "url": url}
        else:
            next_action = {"type": "upi_collect", "vpa": instrument.get("vpa")}
        return PaymentResult(outcome=Outcome.PROCESSING, next_action=next_action, **common)

    def fetch_payment(self, payment_id: str, provider_payment_id: str | None) -> PaymentResult:
        request_copy = {"endpoint": "GET /pg/v1/status/{merchantId}/{txn}",
                        "merchant_transaction_id": payment_id}
        response = self._status(payment_id, request_copy)
        outcome, body = self._outcome(response, request_copy)
        data = body.get("data") or {}
        if data.get("merchantTransactionId") not in (None, payment_id):
            raise ProviderError("PhonePe answered about another transaction.",
                                code="provider_payment_mismatch", request=request_copy,
                                response=response.redacted())
        failed = outcome is Outcome.FAILED
        return PaymentResult(
            outcome=outcome, provider_payment_id=payment_id, amount=data.get("amount"),
            currency="INR", failure_code=body.get("code") if failed else None,
            failure_message=body.get("message") if failed else None,
            request=request_copy, response=response.redacted())

    # --- refunds -------------------------------------------------------------------------

    def refund(self, request: RefundRequest) -> RefundResult:
        public = self._creds.public_base_url.rstrip("/")
        payload = {
            "merchantId": self._creds.phonepe_merchant_id,
            "merchantUserId": request.payment_id,
            "originalTransactionId": request.payment_id,
            "merchantTransactionId": request.refund_id,
            "amount": request.amount,
            "callbackUrl": public + CALLBACK_PATH,
        }
        request_copy = {"endpoint": f"POST {REFUND_PATH}", "payload": redact(payload)}
        response = self._post(REFUND_PATH, payload, request_copy)
        return checked(request, self._refund_result(response, request.refund_id, request_copy),
                       "PhonePe")

    def fetch_refund(self, refund_id: str, provider_refund_id: str | None,
                     provider_payment_id: str | None) -> RefundResult:
        request_copy = {"endpoint": "GET /pg/v1/status/{merchantId}/{txn}",
                        "merchant_transaction_id": refund_id}
        return self._refund_result(self._status(refund_id, request_copy), refund_id,
                                   request_copy)

    def _refund_result(self, response: JsonResponse, refund_id: str,
                       request_copy: dict) -> RefundResult:
        outcome, body = self._outcome(response, request_copy)
        data = body.get("data") or {}
        failed = outcome is Outcome.FAILED
        return RefundResult(
            outcome=outcome, provider_refund_id=refund_id, amount=data.get("amount"),
            currency="INR", failure_code=body.get("code") if failed else None,
            failure_message=body.get("message") if failed else None,
            request=request_copy, response=response.redacted())

    # --- callbacks -----------------------------------------------------------------------

    def read_verified_webhook(self, provider_event_id: str, payload: str) -> InboundEvent:
        """Translate a payload that ``parse_webhook`` verified when it arrived (read back by
        the worker: re-verifying would fail the freshness window whenever a queue is slow)."""
        return _translate_callback(json.loads(base64.b64decode(json.loads(payload)["response"])))

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> InboundEvent:
        creds = self._creds
        if not (creds.phonepe_salt_key and creds.phonepe_webhook_username
                and creds.phonepe_webhook_password):
            raise ProviderUnavailable("PhonePe callbacks are not configured (PHONEPE_SALT_KEY "
                                      "/ PHONEPE_WEBHOOK_USERNAME / PHONEPE_WEBHOOK_PASSWORD).",
                                      code="provider_unavailable")
        # PhonePe "Handling Webhooks": ``Authorization: SHA256(username:password)``, the hex
        # digest of the credentials configured on the PhonePe dashboard (not HTTP Basic).
        expected_auth = hashlib.sha256(
            f"{creds.phonepe_webhook_username}:{creds.phonepe_webhook_password}".encode()
        ).hexdigest()
        given_auth = (header_value(headers, "Authorization") or "").strip().lower()
        # Both checks run before either result is used, so timing does not say which failed.
        auth_ok = hmac.compare_digest(given_auth.encode(), expected_auth.encode())
        try:
            envelope = json.loads(body)
            encoded = envelope["response"]
            if not isinstance(encoded, str):
                raise TypeError("response is not a string")
        except (ValueError, KeyError, TypeError):
            raise WebhookVerificationError("PhonePe callback is not {\"response\": ...}.",
                                           code="webhook_malformed") from None
        given_sig = header_value(headers, "X-VERIFY") or ""
        sig_ok = hmac.compare_digest(given_sig.encode(), self._x_verify(encoded).encode())
        if not (auth_ok and sig_ok):
            raise WebhookVerificationError("PhonePe callback failed its authorization or "
                                           "X-VERIFY check.", code="webhook_signature_invalid")
        try:
            decoded = json.loads(base64.b64decode(encoded, validate=True))
        except (ValueError, binascii.Error):
            raise WebhookVerificationError("PhonePe callback response is not base64 JSON.",
                                           code="webhook_malformed") from None
        return _translate_callback(decoded)


def _translate_callback(decoded: Mapping) -> InboundEvent:
    code = str(decoded.get("code") or "")
    data = decoded.get("data") or {}
    txn = str(data.get("merchantTransactionId") or "")
    outcome = _OUTCOMES.get(code)
    # PhonePe callbacks carry no event id; transaction + code is stable across redeliveries
    # of the same news and changes when the status moves.
    event_id = f"{txn}:{code}"
    if outcome is None or not txn:
        return InboundEvent(provider_event_id=event_id, event_type=code, kind=None)
    failed = outcome is Outcome.FAILED
    is_refund = txn.startswith(_REFUND_PREFIX)
    return InboundEvent(
        provider_event_id=event_id, event_type=code, kind="refund" if is_refund else "payment",
        outcome=outcome,
        payment_id=None if is_refund else txn, provider_payment_id=None if is_refund else txn,
        refund_id=txn if is_refund else None, provider_refund_id=txn if is_refund else None,
        amount=data.get("amount"), currency="INR", failure_code=code if failed else None,
        failure_message=decoded.get("message") if failed else None)
