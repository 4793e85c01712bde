"""Signatures a merchant can verify with the standardwebhooks library unchanged, and with the
few lines docs/webhooks.md shows for X-Webhook-Signature."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from shared.webhooks import signer

BODY = json.dumps({"id": "evt_1", "object": "event", "type": "payment.completed",
                   "data": {"object": {"id": "pay_1"}}}, separators=(",", ":")).encode()


def verify_x_webhook_signature(secret: str, header: str, body: bytes,
                               tolerance_s: int = 300) -> bool:
    """The manual check, exactly as docs/webhooks.md shows it."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    parts = [p.split("=", 1) for p in header.split(",")]
    t = next(v for k, v in parts if k == "t")
    expected = hmac.new(key, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(t)) <= tolerance_s
    return fresh and any(hmac.compare_digest(expected, v) for k, v in parts if k == "v1")


def test_secret_format():
    secret = signer.new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:])) >= 24
    assert signer.new_secret() != secret


def test_standard_webhooks_library_verifies_a_delivery():
    secret = signer.new_secret()
    headers = signer.sign([secret], "evt_1", int(time.time()), BODY)
    assert headers["webhook-id"] == "evt_1"
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)


def test_standard_webhooks_refuses_a_tampered_body_or_another_secret():
    secret = signer.new_secret()
    headers = signer.sign([secret], "evt_1", int(time.time()), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"pay_1", b"pay_2"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signer.new_secret()).verify(BODY, headers)


def test_standard_webhooks_refuses_a_stale_timestamp():
    secret = signer.new_secret()
    headers = signer.sign([secret], "evt_1", int(time.time()) - 3600, BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, headers)


def test_x_webhook_signature_matches_the_spec_formula():
    secret = signer.new_secret()
    t = int(time.time())
    headers = signer.sign([secret], "evt_1", t, BODY)
    key = base64.b64decode(secret[6:])
    digest = hmac.new(key, f"{t}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert headers["X-Webhook-Signature"] == f"t={t},v1={digest}"
    standard = base64.b64encode(hmac.new(key, f"evt_1.{t}.".encode() + BODY,
                                         hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{standard}"
    assert verify_x_webhook_signature(secret, headers["X-Webhook-Signature"], BODY)
    assert not verify_x_webhook_signature(secret, headers["X-Webhook-Signature"], BODY + b" ")


def test_during_a_rotation_both_secrets_verify():
    old, new = signer.new_secret(), signer.new_secret()
    headers = signer.sign([new, old], "evt_9", int(time.time()), BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert headers["X-Webhook-Signature"].count("v1=") == 2
    for secret in (old, new):
        assert Webhook(secret).verify(BODY, headers)
        assert verify_x_webhook_signature(secret, headers["X-Webhook-Signature"], BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(signer.new_secret()).verify(BODY, headers)


def test_signing_needs_a_secret():
    with pytest.raises(ValueError):
        signer.sign([], "evt_1", 1, BODY)
    with pytest.raises(ValueError):
        signer.signing_key("not-a-whsec")
