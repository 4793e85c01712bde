"""HTTP for the providers that speak plain JSON over ``requests`` (PhonePe, Cashfree) and the
session handed to the Razorpay SDK.

Both translate transport failures at the boundary, the same way for every provider:
timeouts, connection failures, 5xx and 429 are ``ProviderTransientError`` (the worker retries
with the same idempotency key); 401/403 are ``ProviderConfigError`` (an operator must fix the
credentials). Any other status is returned to the provider module, which knows whether a 4xx
is a decline, a duplicate or a malformed request.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests

from shared.errors import ProviderConfigError, ProviderError, ProviderTransientError
from shared.providers.redaction import redact

log = logging.getLogger(__name__)

_TEXT_EXCERPT = 500


@dataclass(frozen=True)
class JsonResponse:
    status: int
    body: Any            # the parsed JSON, or None when the body was not JSON
    text: str

    def redacted(self) -> dict:
        body = redact(self.body) if self.body is not None else self.text[:_TEXT_EXCERPT]
        return {"http_status": self.status, "body": body}


def _parse(response: requests.Response) -> JsonResponse:
    text = response.text
    try:
        # Decimal, never float: Cashfree answers amounts in major units.
        body = response.json(parse_float=Decimal)
    except ValueError:
        body = None
    return JsonResponse(response.status_code, body, text)


def raise_for_transport_status(provider: str, parsed: JsonResponse, request_copy: dict,
                               credential_names: str) -> None:
    """Raise the boundary error for statuses that mean the same thing at every provider."""
    status = parsed.status
    if status in (401, 403):
        raise ProviderConfigError(
            f"{provider} rejected our credentials (HTTP {status}); check {credential_names}.",
            code="provider_authentication_failed", request=request_copy,
            response=parsed.redacted())
    if status == 429 or status >= 500:
        raise ProviderTransientError(
            f"{provider} answered HTTP {status}; safe to retry.",
            code="provider_rate_limited" if status == 429 else "provider_server_error",
            request=request_copy, response=parsed.redacted())


def transient_from_exception(provider: str, exc: requests.RequestException,
                             request_copy: dict) -> ProviderError:
    """The error for a request that never produced a response."""
    if isinstance(exc, requests.Timeout):
        return ProviderTransientError(f"{provider} did not answer in time.",
                                      code="provider_timeout", request=request_copy)
    if isinstance(exc, requests.ConnectionError):
        return ProviderTransientError(f"Could not connect to {provider}.",
                                      code="provider_unreachable", request=request_copy)
    # Anything else (invalid URL, too many redirects) is a deployment problem, not a blip.
    return ProviderConfigError(f"Request to {provider} could not be sent: "
                               f"{type(exc).__name__}.", code="provider_request_invalid",
                               request=request_copy)


class JsonTransport:
    """One provider's JSON-over-HTTP client with a timeout on every call."""

    def __init__(self, provider: str, timeout_s: float, credential_names: str) -> None:
        self.provider = provider
        self.timeout_s = timeout_s
        self.credential_names = credential_names
        self.session = requests.Session()

    def send(self, method: str, url: str, *, headers: Mapping[str, str],
             body: Any = None, request_copy: dict) -> JsonResponse:
        """Send ``body`` as JSON. ``request_copy`` is the redacted record attached to any error."""
        try:
            response = self.session.request(method, url, headers=dict(headers), json=body,
                                            timeout=self.timeout_s)
        except requests.RequestException as exc:
            log.warning("%s %s %s failed: %s", self.provider, method, url, type(exc).__name__)
            raise transient_from_exception(self.provider, exc, request_copy) from None
        parsed = _parse(response)
        raise_for_transport_status(self.provider, parsed, request_copy, self.credential_names)
        return parsed


class GuardedSession(requests.Session):
    """A ``requests.Session`` for SDKs that hide the HTTP status (Razorpay maps a 401 and a
    400 to the same ``BadRequestError``): it adds our timeout to every call and raises the
    boundary errors itself, before the SDK parses the body."""

    def __init__(self, provider: str, timeout_s: float, credential_names: str) -> None:
        super().__init__()
        self.provider = provider
        self.timeout_s = timeout_s
        self.credential_names = credential_names

    def request(self, method, url, *args, **kwargs):
        kwargs["timeout"] = self.timeout_s
        request_copy = {"method": str(method).upper(), "url": url}
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.RequestException as exc:
            log.warning("%s %s %s failed: %s", self.provider, method, url, type(exc).__name__)
            raise transient_from_exception(self.provider, exc, request_copy) from None
        raise_for_transport_status(self.provider, _parse(response), request_copy,
                                   self.credential_names)
        return response
