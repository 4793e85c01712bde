"""One exception tree for the whole gateway (STYLE 7).

Every error that reaches a merchant is a ``GatewayError``: a stable ``code``, an HTTP
``status``, an error ``type`` and the offending ``param``. The API renders them in the error
shape of the contract; workers record them. Provider SDK exceptions are translated into the
``Provider*`` errors at the provider boundary and never leak further.
"""
from __future__ import annotations


class GatewayError(Exception):
    status = 400
    type = "invalid_request_error"
    code = "invalid_request"

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.param = param


class InvalidRequest(GatewayError):
    status = 400


class AuthenticationFailed(GatewayError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class PermissionDenied(GatewayError):
    status = 403
    type = "permission_error"
    code = "forbidden"


class NotFound(GatewayError):
    status = 404
    code = "resource_missing"


class Conflict(GatewayError):
    status = 409
    code = "conflict"


class PayloadTooLarge(GatewayError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(GatewayError):
    status = 415
    code = "unsupported_media_type"


class IdempotencyKeyReused(GatewayError):
    status = 422
    type = "idempotency_error"
    code = "idempotency_key_reused"


class RateLimited(GatewayError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limited"


class MethodNotAllowed(GatewayError):
    status = 405
    code = "method_not_allowed"


class Unprocessable(GatewayError):
    """A 422 raised by the web framework itself (not an Idempotency-Key reuse)."""
    status = 422
    code = "unprocessable"


class InternalError(GatewayError):
    status = 500
    type = "api_error"
    code = "internal_error"


# The error of each HTTP status the framework itself may answer with (404 for an unknown
# path, 405 for a wrong method...): api/errors.py renders them with these types and codes.
FOR_HTTP_STATUS: dict[int, type[GatewayError]] = {cls.status: cls for cls in (
    InvalidRequest, AuthenticationFailed, PermissionDenied, NotFound, MethodNotAllowed,
    Conflict, PayloadTooLarge, UnsupportedMediaType, Unprocessable, RateLimited,
    InternalError)}


class ConfigurationError(Exception):
    """The process cannot start with this configuration; the message is the one-line reason."""


# --- provider boundary -------------------------------------------------------------------

class ProviderError(Exception):
    """Base of everything a provider module may raise. Messages never contain secrets."""

    def __init__(self, message: str, *, code: str | None = None,
                 request: dict | None = None, response: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or "provider_error"
        # Redacted copies of what was sent and received, for transaction_attempts.
        self.request = request
        self.response = response


class ProviderTransientError(ProviderError):
    """Timeout, connection failure, 5xx, 429: safe to retry with the same idempotency key."""


class ProviderConfigError(ProviderError):
    """Bad or missing credentials, or a request the provider rejects as malformed: an
    operator must act; retrying will not help."""


class ProviderUnavailable(ProviderConfigError):
    """The provider has no credentials configured in this deployment."""


class WebhookVerificationError(ProviderError):
    """An inbound provider webhook failed its signature or freshness check."""
