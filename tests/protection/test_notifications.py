"""SPEC "Protection": notifications by email (a real SMTP server) and SMS (Twilio's API
against a local simulator), one row each with status and retries, never blocking a payment."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from shared.db import utcnow
from shared.merchants.models import Merchant
from shared.notifications import delivery, service, triggers
from shared.notifications.models import Notification
from shared.outbox import OutboxMessage
from shared.refunds.processing import process_refund
from shared.users.models import User
from tests.factories import (
    UPI,
    completed_payment,
    create_payment,
    create_refund,
    create_webhook_endpoint,
)
from tests.harness.processes import wait_for

CUSTOMER = {"email": "buyer@example.com", "phone": "+14155550123", "name": "Asha"}
TOKEN = "tok_success"


@pytest.fixture
def mail_config(config, smtp_server, twilio):
    return config.with_overrides(
        smtp_url=smtp_server.url, smtp_from="Acme Pay <pay@acme.test>", smtp_timeout_s=5,
        twilio_account_sid=twilio.account_sid, twilio_auth_token=twilio.auth_token,
        twilio_from="+15005550006", twilio_api_base=twilio.url,
        notification_retry_base_s=30, notification_max_attempts=3)


def settings(client, merchant, **values):
    response = client.patch("/api/v1/notification_settings", headers=merchant["owner_headers"],
                            json=values)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def paid(client, merchant, db, config, customer=CUSTOMER, amount=123_45):
    return completed_payment(client, merchant["headers"], db, config, amount=amount,
                             customer=customer, description="Blue mug", token=TOKEN)["id"]


def rows(db, **where):
    with db.transaction() as session:
        query = select(Notification).order_by(Notification.channel)
        for key, value in where.items():
            query = query.where(getattr(Notification, key) == value)
        return session.scalars(query).all()


def test_receipts_are_off_by_default(client, merchant, db, mail_config):
    paid(client, merchant, db, mail_config)
    assert rows(db) == []
    body = client.get("/api/v1/notification_settings", headers=merchant["owner_headers"]).get_json()
    assert body == {"object": "notification_settings", "merchant_id": merchant["merchant_id"],
                    "customer_email_receipts": False, "customer_sms_receipts": False,
                    "merchant_email_alerts": True, "alert_phone": None}


def test_a_completed_payment_emails_and_texts_a_receipt_without_card_data(
        client, merchant, db, mail_config, smtp_server, twilio):
    settings(client, merchant, customer_email_receipts=True, customer_sms_receipts=True)
    pid = paid(client, merchant, db, mail_config)
    email, sms = rows(db, object_id=pid)
    assert (email.channel, email.recipient, email.status) == ("email", CUSTOMER["email"],
                                                              "pending")
    assert (sms.channel, sms.recipient) == ("sms", CUSTOMER["phone"])
    with db.transaction() as session:  # queued through the outbox with the payment's change
        tasks = session.scalars(select(OutboxMessage.args).where(
            OutboxMessage.task == "gateway.send_notification")).all()
    assert sorted(tasks) == sorted([[email.id], [sms.id]])

    assert delivery.deliver(db, mail_config, email.id) == "sent"
    assert delivery.deliver(db, mail_config, sms.id) == "sent"
    mail = smtp_server.mails[0]
    assert mail.rcpt_tos == [CUSTOMER["email"]]
    assert mail.message["Subject"] == "Your receipt from Acme"
    assert mail.message["From"] == "Acme Pay <pay@acme.test>"
    assert "123.45 INR" in mail.text and pid in mail.text and "Blue mug" in mail.text
    text = twilio.messages[0]
    assert (text.to, text.from_) == (CUSTOMER["phone"], "+15005550006")
    assert "123.45 INR" in text.body and pid in text.body
    for content in (mail.text, text.body, str(mail.message)):
        assert TOKEN not in content and "sk_" not in content
    sent = rows(db, object_id=pid)
    assert [(r.status, r.attempts, r.last_error) for r in sent] == [("sent", 1, None)] * 2
    assert sent[1].provider_message_id == text.sid
    # A second attempt of the same task sends nothing more.
    assert delivery.deliver(db, mail_config, email.id) == "skipped"
    assert len(smtp_server.mails) == 1

    listed = client.get(f"/api/v1/notifications?object_id={pid}",
                        headers=merchant["headers"]).get_json()["data"]
    assert {(n["channel"], n["status"]) for n in listed} == {("email", "sent"), ("sms", "sent")}
    assert "body" not in listed[0]


def test_a_completed_refund_sends_a_refund_receipt(client, merchant, db, mail_config,
                                                   smtp_server):
    settings(client, merchant, customer_email_receipts=True)
    pid = paid(client, merchant, db, mail_config)
    refund = create_refund(client, merchant["headers"], pid, amount=45)
    assert process_refund(db, mail_config, refund["id"]) == "completed"
    [row] = rows(db, kind="refund.receipt")
    assert row.object_id == refund["id"] and row.recipient == CUSTOMER["email"]
    assert delivery.deliver(db, mail_config, row.id) == "sent"
    assert "0.45 INR" in smtp_server.mails[-1].text
    assert refund["id"] in smtp_server.mails[-1].text


def test_a_payment_without_customer_contact_queues_nothing(client, merchant, db, mail_config):
    settings(client, merchant, customer_email_receipts=True, customer_sms_receipts=True)
    paid(client, merchant, db, mail_config, customer={"name": "Anonymous"})
    assert rows(db) == []


def test_a_temporary_smtp_failure_is_retried_with_backoff(client, merchant, db, mail_config,
                                                          smtp_server):
    settings(client, merchant, customer_email_receipts=True)
    pid = paid(client, merchant, db, mail_config)
    [row] = rows(db, object_id=pid)
    smtp_server.answers.append("451 4.3.0 Mailbox busy, try later")
    before = utcnow()
    assert delivery.deliver(db, mail_config, row.id) == "retrying"
    [row] = rows(db, object_id=pid)
    assert (row.status, row.attempts) == ("pending", 1) and "451" in row.last_error
    assert 30 <= (row.next_attempt_at - before).total_seconds() <= 34
    assert delivery.dispatch_due(db) == 0  # not due yet
    with db.transaction() as session:
        session.execute(update(Notification).values(next_attempt_at=utcnow()))
    assert delivery.dispatch_due(db) == 1
    assert delivery.deliver(db, mail_config, row.id) == "sent"
    assert rows(db, object_id=pid)[0].attempts == 2 and len(smtp_server.mails) == 1


def test_a_permanent_refusal_fails_at_once_and_an_unreachable_server_gives_up_in_time(
        client, merchant, db, mail_config, smtp_server):
    settings(client, merchant, customer_email_receipts=True)
    first = rows(db, object_id=paid(client, merchant, db, mail_config))[0]
    smtp_server.answers.append("550 5.1.1 No such user")
    assert delivery.deliver(db, mail_config, first.id) == "failed"
    assert rows(db, id=first.id)[0].last_error.startswith("SMTP 550")

    second = rows(db, object_id=paid(client, merchant, db, mail_config))[0]
    down = mail_config.with_overrides(smtp_url="smtp://127.0.0.1:1")
    assert [delivery.deliver(db, down, second.id) for _ in range(3)] == [
        "retrying", "retrying", "failed"]
    final = rows(db, id=second.id)[0]
    assert (final.status, final.attempts) == ("failed", 3)
    assert "unreachable" in final.last_error


def test_sms_outage_is_retried_and_bad_credentials_are_not(client, merchant, db, mail_config,
                                                           twilio):
    settings(client, merchant, customer_sms_receipts=True)
    row = rows(db, object_id=paid(client, merchant, db, mail_config))[0]
    twilio.fail_next(503)
    assert delivery.deliver(db, mail_config, row.id) == "retrying"
    assert delivery.deliver(db, mail_config, row.id) == "sent"
    assert len(twilio.messages) == 1

    other = rows(db, object_id=paid(client, merchant, db, mail_config))[0]
    wrong = mail_config.with_overrides(twilio_auth_token="wrong")
    assert delivery.deliver(db, wrong, other.id) == "failed"
    error = rows(db, id=other.id)[0].last_error
    assert "401" in error and "20003" in error and "wrong" not in error


def test_unconfigured_channels_fail_visibly(client, merchant, db, config):
    settings(client, merchant, customer_email_receipts=True)
    row = rows(db, object_id=paid(client, merchant, db, config))[0]
    assert delivery.deliver(db, config, row.id) == "failed"
    assert "SMTP_URL" in rows(db, id=row.id)[0].last_error


def test_a_lost_attempt_is_sent_again_after_its_lease(client, merchant, db, mail_config,
                                                      smtp_server):
    settings(client, merchant, customer_email_receipts=True)
    row = rows(db, object_id=paid(client, merchant, db, mail_config))[0]
    with db.transaction() as session:  # a worker claimed it and died
        session.execute(update(Notification).values(
            status="sending", attempts=1, next_attempt_at=utcnow() + timedelta(seconds=60)))
    assert delivery.deliver(db, mail_config, row.id) == "skipped"
    assert delivery.dispatch_due(db) == 0
    with db.transaction() as session:
        session.execute(update(Notification).values(next_attempt_at=utcnow()))
    assert delivery.dispatch_due(db) == 1
    assert delivery.deliver(db, mail_config, row.id) == "sent"


def _set_merchant_email(db, merchant_id, email):
    with db.transaction() as session:
        session.get(Merchant, merchant_id).email = email


def test_merchant_alerts_for_payouts_go_to_the_merchants_owner(client, merchant, db,
                                                               mail_config, smtp_server, twilio):
    _set_merchant_email(db, merchant["merchant_id"], "billing@acme.test")
    settings(client, merchant, alert_phone="+14155550999")  # signs in the merchant's owner
    owner_email = f"owner+{merchant['merchant_id'].lower()}@example.com"
    with db.transaction() as session:
        triggers.payout_finished(session, merchant["merchant_id"], "po_123", "failed",
                                 500_000, "INR", reason="Bank account closed")
        triggers.payout_finished(session, merchant["merchant_id"], "po_123", "failed",
                                 500_000, "INR", reason="Bank account closed")  # twice: once
    email, sms = rows(db, kind="payout.failed")
    assert (email.recipient, sms.recipient) == (owner_email, "+14155550999")
    assert delivery.deliver(db, mail_config, email.id) == "sent"
    assert delivery.deliver(db, mail_config, sms.id) == "sent"
    mail = smtp_server.mails[0]
    assert mail.message["Subject"] == "Payout po_123 of 5000.00 INR failed"
    assert "Bank account closed" in mail.text
    assert "po_123" in twilio.messages[0].body


def test_alert_emails_can_be_turned_off(client, merchant, db):
    _set_merchant_email(db, merchant["merchant_id"], "owner@acme.test")
    settings(client, merchant, merchant_email_alerts=False)
    with db.transaction() as session:
        assert service.enqueue(session, merchant["merchant_id"], "payout.paid",
                               {"payout_id": "po_1"}, object_id="po_1") == []


def test_a_410_disabling_an_endpoint_alerts_the_merchant_by_email(
        live_client, merchant, db, start_worker, make_receiver, smtp_server):
    from tests.harness.receiver import Answer
    _set_merchant_email(db, merchant["merchant_id"], "owner@acme.test")
    start_worker(queues="payments,maintenance", concurrency=1)
    start_worker(queues="webhooks,notifications", pool="threads", concurrency=4,
                 SMTP_URL=smtp_server.url)
    gone = make_receiver(Answer(410))
    endpoint = create_webhook_endpoint(live_client, merchant["headers"], url=gone.url,
                                       events=["payment.created"])
    create_payment(live_client, merchant["headers"], amount=100, token=TOKEN)
    mail = wait_for(lambda: smtp_server.mails or None, 60, message="the alert email")[0]
    assert mail.rcpt_tos == ["owner@acme.test"]
    assert endpoint["id"] in mail.message["Subject"]
    assert "410" in mail.text and endpoint["secret"] not in mail.text
    # The mail server has the mail before the worker records it sent: wait for the record.
    assert wait_for(lambda: rows(db, kind="webhook_endpoint.disabled")[0].status == "sent", 10)


def test_receipt_through_real_workers_and_a_mail_server_down_never_blocks_the_payment(
        live_client, merchant, db, start_worker, smtp_server):
    settings(live_client, merchant, customer_email_receipts=True)
    start_worker(queues="payments,maintenance", concurrency=1)
    start_worker(queues="notifications", pool="threads", concurrency=2,
                 SMTP_URL=smtp_server.url)
    smtp_server.answers.append("421 4.3.2 Service not available")
    pid = create_payment(live_client, merchant["headers"], amount=2500, customer=CUSTOMER,
                         token=TOKEN)["id"]
    wait_for(lambda: live_client.get(f"/api/v1/payments/{pid}", headers=merchant["headers"]
                                     ).get_json()["status"] == "completed", 30,
             message="the payment to complete")
    row = wait_for(lambda: (r := rows(db, object_id=pid)) and r[0].attempts >= 1 and
                   r[0].status == "pending" and r[0], 30, message="a failed first attempt")
    assert "421" in row.last_error  # the payment completed regardless
    with db.transaction() as session:  # make the retry due now; the dispatcher sends it
        session.execute(update(Notification).values(next_attempt_at=utcnow()))
    assert delivery.dispatch_due(db) == 1  # published by the live app's outbox relay
    wait_for(lambda: smtp_server.mails or None, 30, message="the receipt")
    assert smtp_server.mails[0].rcpt_tos == [CUSTOMER["email"]]
    assert wait_for(lambda: rows(db, object_id=pid)[0].status == "sent", 10)


def test_a_upi_receipt_names_the_method_but_not_the_vpa(client, merchant, db, mail_config):
    settings(client, merchant, customer_email_receipts=True, customer_sms_receipts=True)
    pid = completed_payment(client, merchant["headers"], db, mail_config, amount=900,
                            customer=CUSTOMER, payment_method=UPI)["id"]
    email, sms = rows(db, object_id=pid)
    assert "Paid by: upi" in email.body
    for row in (email, sms):
        assert "success@sandbox" not in row.body and "success@sandbox" not in (row.subject or "")


def test_merchant_alerts_go_to_active_owners_and_admins_once_the_merchant_has_users(
        merchant, db, config):
    from shared.audit.service import CLI_ACTOR
    from shared.users.service import create_user, update_user
    mid = merchant["merchant_id"]
    _set_merchant_email(db, mid, "billing@acme.test")
    with db.transaction() as session:
        for email, role in (("own@acme.test", "owner"), ("adm@acme.test", "admin"),
                            ("dev@acme.test", "developer"), ("view@acme.test", "viewer"),
                            ("gone@acme.test", "admin")):
            create_user(session, config, mid, email=email, name=email, role=role,
                        password="correct horse battery", actor=CLI_ACTOR)
    with db.transaction() as session:
        gone = session.scalar(select(User).where(User.email == "gone@acme.test"))
        update_user(session, mid, gone.id, {"status": "disabled"}, actor=CLI_ACTOR,
                    actor_role="owner")
    with db.transaction() as session:
        triggers.payout_finished(session, mid, "po_9", "paid", 1000, "INR")
    assert sorted(r.recipient for r in rows(db, kind="payout.paid")) == [
        "adm@acme.test", "own@acme.test"]
