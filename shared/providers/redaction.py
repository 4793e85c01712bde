"""Redacted copies of provider requests and responses.

Results and errors carry what was sent and received so an operator can read a failed attempt
in ``transaction_attempts``; these copies must never hold a credential, a salt or a full
signature. Redaction works on key names, so it also catches secrets a provider adds to a
response later (for example Stripe's ``client_secret``).
"""
from __future__ import annotations

from typing import Any

REDACTED = "[redacted]"

# Lower-cased key fragments whose values are never copied.
_SECRET_FRAGMENTS = (
    "secret", "password", "passwd", "salt", "signature", "authorization", "x-verify",
    "api_key", "apikey", "key_secret", "client_secret", "x-client-secret",
)


def is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(fragment in lowered for fragment in _SECRET_FRAGMENTS)


def redact(value: Any) -> Any:
    """A deep copy of ``value`` (dicts, lists, scalars) with secret-named keys masked."""
    if isinstance(value, dict):
        return {str(k): (REDACTED if is_secret_key(str(k)) else redact(v))
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(item) for item in value]
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    # Decimal and other scalars are stored as text so the copy stays JSON-serialisable.
    return str(value)

