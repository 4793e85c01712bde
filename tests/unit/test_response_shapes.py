"""Each response shape has one definition: the dict builder in a ``representation`` module
(fast, no marshmallow on the hot path), checked here against the marshmallow response schema
that documents it in the OpenAPI document.

For every object type the builder's output, for a fully filled object and for one with every
nullable column empty, has exactly the schema's keys (both ways) and loads through the schema
without an error (types, choices and nullability). The suite's response check
(api/response_check.py) then validates every answer the tests receive against the same
schema, so the document, the builders and the answers cannot drift apart.
"""
from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from marshmallow import Schema

from api.schemas.accounts import ApiKeySchema, AuditLogSchema, SessionSchema, UserSchema
from api.schemas.checkout_sessions import CheckoutSessionSchema
from api.schemas.ledger import BalanceTransactionSchema, PayoutSchema
from api.schemas.notifications import NotificationSchema, NotificationSettingsSchema
from api.schemas.orders import OrderSchema
from api.schemas.payments import PaymentSchema
from api.schemas.refunds import RefundSchema
from api.schemas.risk import BlocklistEntrySchema, RiskSettingsSchema
from api.schemas.webhooks import EventSchema, WebhookEndpointSchema, WebhookLogSchema
from shared.audit.models import AuditLog
from shared.audit.service import audit_log_object
from shared.checkout.models import CheckoutSession
from shared.checkout.representation import checkout_session_object
from shared.ledger.models import BalanceTransaction, Payout
from shared.ledger.representation import balance_transaction_object, payout_object
from shared.merchants.credentials import api_key_object
from shared.merchants.models import ApiKey
from shared.notifications.models import Notification, NotificationSettings
from shared.notifications.service import notification_object, settings_object
from shared.orders.models import Order
from shared.payments.insert import payment_json
from shared.payments.models import Payment
from shared.refunds.models import Refund
from shared.representation import event_object, order_object, payment_object, refund_object
from shared.risk.models import BlocklistEntry, RiskSettings
from shared.risk.service import blocklist_entry_object, risk_settings_object
from shared.users.models import User
from shared.users.service import IssuedSession, session_object, user_object
from shared.webhooks.models import Event, WebhookEndpoint, WebhookLog
from shared.webhooks.representation import webhook_endpoint_object, webhook_log_object

NOW = datetime(2026, 12, 1, 12, 0, 0, 123000, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
METHOD = {"type": "upi", "vpa": "buyer@okbank"}
CUSTOMER = {"email": "buyer@example.com", "phone": "+14155550123", "name": "B", "ip": "::1"}


def schema_keys(schema: type[Schema]) -> set[str]:
    return {field.data_key or name for name, field in schema().fields.items()}


def assert_same_shape(body: dict, schema: type[Schema], *, sometimes: tuple[str, ...] = ()):
    """The builder's keys are the schema's (``sometimes`` keys may be absent), and the body
    loads through the schema: right types, allowed values, null only where documented."""
    keys, documented = set(body), schema_keys(schema)
    assert keys - documented == set(), f"keys the {schema.__name__} does not document"
    assert documented - keys - set(sometimes) == set(), \
        f"{schema.__name__} keys the builder leaves out"
    assert schema().validate(body) == {}


def _payment(**overrides) -> Payment:
    values = dict(id="pay_01", livemode=True, order_id="ord_01", amount=1000, currency="INR",
                  status="completed", amount_refunded=100, provider="sandbox",
                  provider_payment_id="sb_1", payment_method=METHOD, customer=CUSTOMER,
                  description="tea", metadata_={"k": "v"}, failure_code="card_declined",
                  failure_message="declined", attempts=2,
                  next_action={"type": "redirect", "url": "https://p.example/1"},
                  risk={"decision": "allow", "rules": []}, created_at=NOW, updated_at=LATER)
    return Payment(**{**values, **overrides})


SPARSE_PAYMENT = dict(livemode=False, order_id=None, provider_payment_id=None, customer=None,
                      description=None, metadata_=None, failure_code=None,
                      failure_message=None, next_action=None, risk=None, status="pending")


@pytest.mark.parametrize("overrides", [{}, SPARSE_PAYMENT], ids=["full", "sparse"])
def test_payment_object_is_the_payment_schema(overrides):
    assert_same_shape(payment_object(_payment(**overrides)), PaymentSchema)


def test_new_payment_json_is_payment_object_of_the_row_it_writes():
    data = {"amount": 1000, "currency": "INR", "payment_method": METHOD,
            "customer": CUSTOMER, "description": "tea", "metadata": {"k": "v"},
            "livemode": True}
    row = _payment(status="pending", order_id=None, amount_refunded=0,
                   provider_payment_id=None, failure_code=None, failure_message=None,
                   attempts=0, next_action=None, risk=None, updated_at=NOW)
    assert payment_json("pay_01", data, "sandbox", NOW) == payment_object(row)
    bare = {"amount": 5, "currency": "USD", "payment_method": {"type": "card", "token": "t"}}
    assert_same_shape(payment_json("pay_02", bare, "sandbox", NOW), PaymentSchema)


@pytest.mark.parametrize("receipt", ["r-1", None])
def test_order_object_is_the_order_schema(receipt):
    order = Order(id="ord_01", livemode=False, amount=500, currency="INR", receipt=receipt,
                  status="attempted", amount_paid=0, attempts=1,
                  metadata_={} if receipt else None, created_at=NOW)
    assert_same_shape(order_object(order), OrderSchema)


@pytest.mark.parametrize("empty", [False, True])
def test_refund_object_is_the_refund_schema(empty):
    refund = Refund(id="re_01", livemode=True, payment_id="pay_01", amount=100,
                    currency="INR", status="failed" if not empty else "pending",
                    reason=None if empty else "requested_by_customer",
                    provider_refund_id=None if empty else "sbr_1",
                    failure_code=None if empty else "x", failure_message=None if empty else "y",
                    metadata_=None if empty else {"k": "v"}, created_at=NOW, updated_at=NOW)
    assert_same_shape(refund_object(refund), RefundSchema)


def test_event_object_is_the_event_schema():
    event = Event(id="evt_01", type="payment.created", livemode=False,
                  data={"object": {"id": "pay_01"}}, created_at=NOW)
    assert_same_shape(event_object(event), EventSchema)


@pytest.mark.parametrize("with_payment", [True, False])
def test_checkout_session_object_is_the_checkout_session_schema(with_payment):
    cs = CheckoutSession(id="cs_01", livemode=False, amount=1000, currency="INR",
                         order_id="ord_01" if with_payment else None, provider="sandbox",
                         payment_id="pay_01" if with_payment else None,
                         success_url="https://m.example/ok", cancel_url="https://m.example/no",
                         customer=CUSTOMER if with_payment else None,
                         description="tea" if with_payment else None,
                         metadata_={"k": "v"} if with_payment else None, attempts=1,
                         expires_at=LATER, created_at=NOW)
    payment = _payment() if with_payment else None
    body = checkout_session_object(cs, payment, "https://pay.example")
    assert_same_shape(body, CheckoutSessionSchema)


@pytest.mark.parametrize("empty", [False, True])
def test_payout_object_is_the_payout_schema(empty):
    payout = Payout(id="po_01", livemode=False, amount=900, currency="INR",
                    status="pending" if empty else "paid", method="manual",
                    destination="bank_1", failure_code=None if empty else "x",
                    failure_message=None if empty else "y",
                    metadata_=None if empty else {"k": "v"},
                    arrived_at=None if empty else LATER, created_at=NOW, updated_at=NOW)
    assert_same_shape(payout_object(payout), PayoutSchema)


@pytest.mark.parametrize("payout_id", ["po_01", None])
def test_balance_transaction_object_is_the_balance_transaction_schema(payout_id):
    txn = BalanceTransaction(id="txn_01", livemode=False, type="payment", amount=1000,
                             fee=20, net=980, currency="INR", source_id="pay_01",
                             payout_id=payout_id, status="available", available_on=LATER,
                             created_at=NOW)
    assert_same_shape(balance_transaction_object(txn), BalanceTransactionSchema)


@pytest.mark.parametrize("with_secret", [False, True])
@pytest.mark.parametrize("empty", [False, True])
def test_webhook_endpoint_object_is_the_webhook_endpoint_schema(with_secret, empty):
    endpoint = WebhookEndpoint(
        id="we_01", livemode=False, url="https://m.example/hook", events=["*"],
        description=None if empty else "main", status="disabled" if not empty else "enabled",
        disabled_reason=None if empty else "failing", metadata_=None if empty else {"k": "v"},
        secret="whsec_x", previous_secret_expires_at=None if empty else LATER,
        created_at=NOW, updated_at=NOW)
    body = webhook_endpoint_object(endpoint, with_secret=with_secret)
    assert ("secret" in body) is with_secret
    assert_same_shape(body, WebhookEndpointSchema, sometimes=("secret",))


@pytest.mark.parametrize("empty", [False, True])
def test_webhook_log_object_is_the_webhook_log_schema(empty):
    log = WebhookLog(id="wl_01", event_id="evt_01", endpoint_id="we_01", attempt=1,
                     status="failed" if not empty else "pending",
                     response_status=None if empty else 500,
                     response_ms=None if empty else 12,
                     response_body=None if empty else "oops", error=None if empty else "5xx",
                     next_retry_at=None if empty else LATER, created_at=NOW)
    assert_same_shape(webhook_log_object(log), WebhookLogSchema)


@pytest.mark.parametrize("last_login", [NOW, None])
def test_user_object_is_the_user_schema(last_login):
    user = User(id="usr_01", merchant_id="mer_01", email="a@example.com", name="A",
                role="admin", status="active", created_at=NOW, last_login_at=last_login)
    assert_same_shape(user_object(user), UserSchema)


def test_session_object_is_the_session_schema():
    user = User(id="usr_01", merchant_id="mer_01", email="a@example.com", name="A",
                role="owner", status="active", created_at=NOW, last_login_at=None)
    issued = IssuedSession(access_token="at", refresh_token="rt", expires_in=900,
                           session_id="ses_01", livemode=False, user=user)
    assert_same_shape(session_object(issued), SessionSchema)


@pytest.mark.parametrize("secret", [None, "sk_test_x"])
def test_api_key_object_is_the_api_key_schema(secret):
    key = ApiKey(id="key_01", prefix="sk_test_ab", livemode=False, created_at=NOW,
                 revoked_at=None if secret else LATER)
    assert_same_shape(api_key_object(key, secret), ApiKeySchema, sometimes=("secret",))


@pytest.mark.parametrize("empty", [False, True])
def test_audit_log_object_is_the_audit_log_schema(empty):
    row = AuditLog(id="al_01", merchant_id=None if empty else "mer_01", actor_type="user",
                   actor_id="usr_01", action="payment.create",
                   object_type=None if empty else "payment",
                   object_id=None if empty else "pay_01", request_id=None if empty else "r",
                   ip=None if empty else "::1", user_agent=None if empty else "curl",
                   details=None if empty else {"k": "v"}, created_at=NOW)
    assert_same_shape(audit_log_object(row), AuditLogSchema)


@pytest.mark.parametrize("status", ["pending", "sent"])
def test_notification_object_is_the_notification_schema(status):
    sent = status == "sent"
    n = Notification(id="ntf_01", kind="receipt", channel="email", recipient="a@example.com",
                     subject="Receipt" if sent else None, object_id="pay_01" if sent else None,
                     status=status, attempts=1, last_error=None if sent else "smtp down",
                     next_attempt_at=LATER, created_at=NOW, sent_at=LATER if sent else None)
    assert_same_shape(notification_object(n), NotificationSchema)


def test_notification_settings_object_is_the_notification_settings_schema():
    settings = NotificationSettings(merchant_id="mer_01", customer_email_receipts=True,
                                    customer_sms_receipts=False, merchant_email_alerts=True,
                                    alert_phone=None)
    assert_same_shape(settings_object(settings), NotificationSettingsSchema)


def test_risk_objects_are_their_schemas():
    entry = BlocklistEntry(id="bl_01", merchant_id="mer_01", type="email",
                           value="a@example.com", created_at=NOW)
    assert_same_shape(blocklist_entry_object(entry), BlocklistEntrySchema)
    assert_same_shape(risk_settings_object("mer_01", None), RiskSettingsSchema)
    settings = RiskSettings(merchant_id="mer_01", amount_limits={"INR": 500})
    assert_same_shape(risk_settings_object("mer_01", settings), RiskSettingsSchema)


def test_every_object_builder_is_checked_here():
    """A new ``*_object`` builder in shared/ needs its case above (and a response schema)."""
    root = Path(__file__).resolve().parents[2] / "shared"
    builders = {node.name for path in root.rglob("*.py")
                for node in ast.parse(path.read_text()).body
                if isinstance(node, ast.FunctionDef) and node.name.endswith("_object")}
    checked = {name for name in globals() if name.endswith("_object")}
    assert builders - checked == set()
