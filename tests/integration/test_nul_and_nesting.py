"""Issue 10 item 9: a NUL character in any string (body, path id, query, Basic key id,
header) and deeply nested JSON (also on a provider webhook, before its auth check) are a 400
in the error shape, asked of nobody (no database call), with no traceback at ERROR."""
from __future__ import annotations

import base64
import json
import logging

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from shared.payments.models import Payment
from shared.provider_events.models import ProviderEvent

GOOD = {"amount": 1000, "currency": "INR",
        "payment_method": {"type": "card", "token": "tok_success"}}


@pytest.fixture
def statements(db):
    """SQL statements run while the test does its requests."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)
    sa_event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    sa_event.remove(db.engine, "before_cursor_execute", record)


def _assert_refused(response, caplog, statements=None):
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert set(error) == {"type", "code", "message", "param", "request_id"}
    assert error["type"] == "invalid_request_error"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    if statements is not None:
        assert statements == []
    return error


@pytest.mark.parametrize("patch,param", [
    ({"description": "a\x00b"}, "description"),
    ({"metadata": {"order": "x\x00"}}, "metadata.order"),
    ({"metadata": {"k\x00": "v"}}, "metadata"),
    ({"customer": {"name": "\x00"}}, "customer.name"),
    ({"payment_method": {"type": "card", "token": "tok_\x00"}}, "payment_method.token"),
])
def test_nul_in_a_body_string(client, merchant, db, caplog, statements, patch, param):
    caplog.set_level(logging.INFO)
    headers = merchant["headers"]
    statements.clear()
    error = _assert_refused(client.post("/api/v1/payments", headers=headers,
                                        json={**GOOD, **patch}), caplog, statements)
    assert error["param"] == param
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Payment)) == 0


def test_nul_in_an_order_receipt(client, merchant, caplog, statements):
    caplog.set_level(logging.INFO)
    statements.clear()
    _assert_refused(client.post("/api/v1/orders", headers=merchant["headers"], json={
        "amount": 1000, "currency": "INR", "receipt": "r\x00"}), caplog, statements)


@pytest.mark.parametrize("path", ["/api/v1/payments/pay_%00", "/api/v1/refunds/rfnd_x%00y",
                                  "/api/v1/payments?starting_after=pay_%00",
                                  "/api/v1/events?type=%00", "/checkout/return/pay_%00"])
def test_nul_in_a_path_or_query(client, merchant, caplog, statements, path):
    caplog.set_level(logging.INFO)
    statements.clear()
    _assert_refused(client.get(path, headers=merchant["headers"]), caplog, statements)


def test_nul_in_a_basic_key_id_or_header(client, merchant, caplog, statements):
    caplog.set_level(logging.INFO)
    token = base64.b64encode(f"key_\x00:{merchant['api_key']}".encode()).decode()
    statements.clear()
    _assert_refused(client.get("/api/v1/payments", headers={"Authorization": f"Basic {token}"}),
                    caplog, statements)
    _assert_refused(client.post("/api/v1/payments", json=GOOD, headers={
        **merchant["headers"], "Idempotency-Key": "k\x00"}), caplog, statements)


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("path", ["/api/v1/payments", "/api/v1/webhooks/phonepe",
                                  "/api/v1/webhooks/razorpay"])
def test_deeply_nested_json(client, merchant, caplog, statements, path):
    caplog.set_level(logging.INFO)
    for body in (_nested(100_000), '{"metadata": ' + _nested(5000) + "}",
                 '{"response": ' + '{"a":' * 3000 + "1" + "}" * 3000 + "}"):
        statements.clear()
        error = _assert_refused(client.post(path, data=body, headers={
            **merchant["headers"], "Content-Type": "application/json"}), caplog, statements)
        assert error["code"] == "json_too_deep"


def test_moderate_nesting_and_brackets_in_strings_still_work(client, merchant):
    body = {**GOOD, "description": "[[[[{{{{" * 50 + '\\"]'}
    assert client.post("/api/v1/payments", headers=merchant["headers"],
                       data=json.dumps(body),
                       content_type="application/json").status_code == 201


def test_raw_nul_byte_on_a_provider_webhook(client, db, caplog, statements):
    caplog.set_level(logging.INFO)
    statements.clear()
    _assert_refused(client.post("/api/v1/webhooks/razorpay", data=b'{"event": "a\x00"}',
                                headers={"Content-Type": "application/json"}),
                    caplog, statements)
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ProviderEvent)) == 0
