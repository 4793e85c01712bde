"""Signing merchant webhooks (SPEC "Signing").

Every delivery carries two signatures over the same raw body:
- ``X-Webhook-Signature: t=<unix>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>``
- Standard Webhooks: ``webhook-id``, ``webhook-timestamp`` and
  ``webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<t>.<body>")>``, so the
  ``standardwebhooks`` and ``svix`` libraries verify deliveries unchanged.
The key is the base64-decoded part of the ``whsec_`` secret. During a rotation each header
carries one ``v1`` per live secret, so receivers holding either secret accept the delivery.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signing_key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("webhook secrets start with whsec_")
    return base64.b64decode(secret[len(SECRET_PREFIX):])


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def sign(signing_secrets: list[str], message_id: str, timestamp: int, body: bytes) -> dict:
    """The signature headers for one delivery attempt of ``body``."""
    if not signing_secrets:
        raise ValueError("at least one secret is needed to sign")
    keys = [signing_key(s) for s in signing_secrets]
    standard = " ".join(
        "v1," + base64.b64encode(_hmac(key, f"{message_id}.{timestamp}.".encode() + body))
        .decode() for key in keys)
    legacy = ",".join(
        "v1=" + _hmac(key, f"{timestamp}.".encode() + body).hex() for key in keys)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard,
        "X-Webhook-Signature": f"t={timestamp},{legacy}",
    }
