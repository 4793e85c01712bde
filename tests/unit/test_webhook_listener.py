"""The README's webhook listener accepts the gateway's signatures and nothing else."""
from __future__ import annotations

import importlib.util
import time
from pathlib import Path

from shared.webhooks.signer import new_secret, sign

_PATH = Path(__file__).resolve().parents[2] / "scripts" / "webhook_listener.py"
_spec = importlib.util.spec_from_file_location("webhook_listener", _PATH)
listener = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(listener)


def test_a_gateway_signature_verifies_and_a_tampered_body_does_not():
    secret, body, now = new_secret(), b'{"type":"payment.completed"}', int(time.time())
    headers = sign([secret], "evt_1", now, body)
    assert listener.verify(secret, headers, body)
    assert not listener.verify(secret, headers, body + b" ")
    assert not listener.verify(new_secret(), headers, body)
    assert not listener.verify(secret, headers, body, now=now + 3600)


def test_during_a_rotation_either_secret_verifies():
    old, new, body, now = new_secret(), new_secret(), b"{}", int(time.time())
    headers = sign([new, old], "evt_2", now, body)
    assert listener.verify(old, headers, body) and listener.verify(new, headers, body)
