"""Issue 10 item 5: every API key the code can generate is masked in logs, whatever its
characters (url-safe keys contain ``-`` and ``_``) and whatever surrounds it."""
from __future__ import annotations

import secrets

from shared.logging_setup import redact

CONTEXTS = ("{}", "key={}", '{{"api_key": "{}"}}', "x_{}", "-{}-", "Bearer {}", "'{}'",
            "https://u:{}@host/", "curl -u {}: https://gw", "{}:")


def _keys(n: int):
    for i in range(n):
        prefix = ("sk_", "sk_test_", "sk_live_")[i % 3]
        yield prefix + secrets.token_urlsafe(30)


def test_generated_keys_never_survive_redaction():
    for key in _keys(3000):
        body = key.split("_", 2)[-1] if key.startswith(("sk_test_", "sk_live_")) else key[3:]
        for context in CONTEXTS:
            text = redact(context.format(key))
            assert key not in text, text
            # Not even a long piece of the secret part is left.
            assert body[:12] not in text and body[-12:] not in text, text


def test_keys_issued_by_the_gateway_are_masked(db):
    from shared.merchants.credentials import create_merchant, issue_key
    with db.transaction() as session:
        _, first = create_merchant(session, "Redaction")
        issued = [first] + [issue_key(session, first.merchant_id) for _ in range(200)]
    for key in issued:
        text = redact(f"401 for Authorization Basic user {key.api_key}: refused")
        assert key.api_key not in text and key.api_key[10:] not in text
