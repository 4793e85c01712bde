"""Error codes have one home, shared/errors.py; the API's HTTP handler only renders them."""
from __future__ import annotations

from shared.errors import FOR_HTTP_STATUS

# The contract's answers to statuses the web framework raises itself (SPEC "Errors").
FRAMEWORK_ERRORS = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", "forbidden"),
    404: ("invalid_request_error", "resource_missing"),
    405: ("invalid_request_error", "method_not_allowed"),
    409: ("invalid_request_error", "conflict"),
    413: ("invalid_request_error", "payload_too_large"),
    415: ("invalid_request_error", "unsupported_media_type"),
    422: ("invalid_request_error", "unprocessable"),
    429: ("rate_limit_error", "rate_limited"),
    500: ("api_error", "internal_error"),
}


def test_each_http_status_has_one_error_class_with_the_contract_type_and_code():
    assert {status: (cls.type, cls.code) for status, cls in FOR_HTTP_STATUS.items()} \
        == FRAMEWORK_ERRORS
    assert all(cls.status == status for status, cls in FOR_HTTP_STATUS.items())
