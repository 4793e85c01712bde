"""The merchant dashboard in a real browser: a new merchant registers, signs out and in,
issues an API key, sees a payment made with it through the API appear, refunds it from its
page, sees its balance and pays part of it out, adds a webhook endpoint and sees its
deliveries, retries a failed one, revokes the key, invites a viewer, reads the audit log and
signs out; a viewer finds no refund button and is refused (403) when posting anyway; a
tampered CSRF token is refused."""
from __future__ import annotations

import re
from datetime import timedelta

import requests
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import func, select

from shared.db import utcnow
from shared.ledger import balance
from shared.payments import service as payment_service
from shared.payments.processing import process_payment
from shared.refunds.models import Refund
from shared.users import service as users
from tests.browser.conftest import DESKTOP, csp_violations
from tests.harness.receiver import Answer
from web.formatting import format_money

PASSWORD = "correct horse battery staple"


def css(driver, selector, timeout=15):
    """The element once the page has it (a page that is still loading gets the time)."""
    return WebDriverWait(driver, timeout).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, selector)),
        f"no {selector} on {driver.current_url}")


def text(driver, selector, timeout=15):
    """The element's text once the page has it. A page that replaces itself between finding
    the element and reading it (Chromium: "Node with given id does not belong to the
    document") is read again."""
    return WebDriverWait(driver, timeout, ignored_exceptions=(
        StaleElementReferenceException, WebDriverException)).until(
        lambda d: d.find_element(By.CSS_SELECTOR, selector).text,
        f"no {selector} on {driver.current_url}")


def click(driver, selector, timeout=15):
    """Click what leads to another page and wait until that page has replaced this one, so
    the next look is at the new page and never at the old one still on screen."""
    def press(d):
        # The page may still be replacing itself (a redirect, a refresh) between finding the
        # element and clicking it; then find both again on the page that is there now.
        try:
            html = d.find_element(By.TAG_NAME, "html")
            css(d, selector).click()
            return html
        except StaleElementReferenceException:
            return False
        except WebDriverException as exc:
            if "does not belong to the document" in str(exc):
                return False
            raise
    old = WebDriverWait(driver, timeout).until(press, f"could not click {selector}")
    WebDriverWait(driver, timeout).until(EC.staleness_of(old), f"{selector} led nowhere")
    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script("return document.readyState") == "complete")


def fill(driver, **fields):
    for name, value in fields.items():
        element = driver.find_element(By.ID, name)
        element.clear()
        element.send_keys(value)


def submit(driver, selector="button[type=submit]", within="main"):
    click(driver, f"{within} {selector}")


def reload_until(driver, condition, timeout=30, message=""):
    def check(d):
        d.refresh()
        return condition(d)
    return WebDriverWait(driver, timeout, poll_frequency=0.5).until(check, message)


def sign_in(browser, web_server, email):
    browser.get(f"{web_server.url}/dashboard/login")
    fill(browser, email=email, password=PASSWORD)
    submit(browser)
    WebDriverWait(browser, 10).until(EC.url_contains("/dashboard/overview"))


def sign_out(browser):
    click(browser, "[data-testid=logout]")
    WebDriverWait(browser, 10).until(EC.url_contains("/dashboard/login"))


def test_a_merchant_works_in_the_dashboard(browser, shot, web_server, db, make_receiver,
                                           start_worker):
    browser.set_window_size(*DESKTOP)
    start_worker(queues="payments,refunds,webhooks,maintenance")
    base = web_server.url

    browser.get(f"{base}/dashboard/register")
    fill(browser, merchant_name="Darjeeling Direct", email="owner@darjeeling.example",
         password=PASSWORD)
    shot("register")
    submit(browser)
    WebDriverWait(browser, 10).until(EC.url_contains("/dashboard/overview"))
    assert "No payments yet" in text(browser, "main")
    shot("overview-empty")
    sign_out(browser)
    shot("login")
    sign_in(browser, web_server, "owner@darjeeling.example")

    # An API key, shown once, used by the merchant's server to take a payment.
    browser.get(f"{base}/dashboard/api_keys")
    click(browser, "[data-testid=create-key]")
    secret = text(browser, "[data-testid=secret]")
    assert secret.startswith("sk_")
    shot("api-key-created")
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {secret}"
    created = api.post(f"{base}/api/v1/payments", timeout=10, json={
        "amount": 249_900, "currency": "INR", "description": "First flush, 500 g",
        "payment_method": {"type": "upi", "vpa": "success@sandbox"},
        "customer": {"email": "asha@example.com"}})
    assert created.status_code == 201, created.text
    payment_id = created.json()["id"]

    browser.get(f"{base}/dashboard/payments")
    row = f"tr[data-id='{payment_id}']"
    reload_until(browser, lambda d: "completed" in css(d, row).text,
                 message="the payment to complete")
    assert "₹2,499.00" in css(browser, row).text
    shot("payments")

    # Refund part of it from its page.
    click(browser, f"{row} a")
    WebDriverWait(browser, 10).until(EC.url_contains(payment_id))
    assert "payment.completed" in text(browser, "[data-testid=timeline]")
    shot("payment-detail")
    fill(browser, amount="499.00", reason="one tin arrived dented")
    click(browser, "[data-testid=refund-button]")
    assert "Refund rfnd_" in text(browser, "[data-testid=flash-ok]")
    reload_until(browser, lambda d: "partially refunded" in css(
        d, "[data-testid=payment-status]").text, message="the refund to complete")
    assert "₹499.00" in text(browser, "[data-testid=refunds-table]")
    shot("payment-refunded")
    assert api.get(f"{base}/api/v1/payments/{payment_id}",
                   timeout=10).json()["amount_refunded"] == 49_900

    # The balance once the payment's net is available; a payout of part of it, paid by the
    # sandbox bank through the worker.
    balance.release_available(db, now=utcnow() + timedelta(days=3))
    available = {a["currency"]: a["amount"]
                 for a in api.get(f"{base}/api/v1/balance", timeout=10).json()["available"]}
    assert available["INR"] > 10_000
    browser.get(f"{base}/dashboard/balance")
    assert text(browser, "[data-testid=available-INR]") == format_money(
        available["INR"], "INR")
    assert payment_id in text(browser, "[data-testid=transactions-table]")
    shot("balance")
    click(browser, "[data-testid=to-payouts]")
    WebDriverWait(browser, 10).until(EC.url_contains("/dashboard/payouts"))
    fill(browser, amount="100.00")
    click(browser, "[data-testid=payout-button]")
    assert "Payout po_" in text(browser, "[data-testid=flash-ok]")
    reload_until(browser, lambda d: "paid" in text(d, "[data-testid=payouts-table]"),
                 message="the payout to be paid")
    assert "₹100.00" in text(browser, "[data-testid=payouts-table]")
    shot("payouts")

    # A webhook endpoint whose first delivery fails; its log shows it; a retry succeeds.
    receiver = make_receiver()
    receiver.answers.append(Answer(status=500, body=b"boom"))
    browser.get(f"{base}/dashboard/webhooks")
    fill(browser, url=receiver.url, description="order system")
    submit(browser, within="[data-testid=webhook-form]")
    assert text(browser, "[data-testid=secret]").startswith("whsec_")
    shot("webhook-secret")
    click(browser, "main a.button")
    click(browser, "[data-testid=send-test]")
    reload_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=retry]"),
                 message="the failed delivery in the log")
    assert "HTTP 500" in text(browser, "[data-testid=deliveries]")
    shot("deliveries-failed")
    click(browser, "[data-testid=retry]")
    reload_until(browser, lambda d: "succeeded" in text(d, "[data-testid=deliveries]"),
                 message="the retried delivery to succeed")
    shot("deliveries-retried")
    assert [r.event["type"] for r in receiver.received()] == ["ping", "ping"]

    # Revoke the key: the API refuses it from then on.
    browser.get(f"{base}/dashboard/api_keys")
    click(browser, "[data-testid=revoke]")
    assert "revoked" in text(browser, "[data-testid=flash-ok]")
    shot("api-key-revoked")
    assert api.get(f"{base}/api/v1/payments", timeout=10).status_code == 401

    # Invite a viewer, read the audit log, sign out.
    browser.get(f"{base}/dashboard/users")
    fill(browser, email="viewer@darjeeling.example", name="Ravi", password=PASSWORD)
    Select(browser.find_element(By.ID, "role")).select_by_visible_text("viewer")
    submit(browser, within="[data-testid=user-form]")
    assert "viewer@darjeeling.example" in text(browser, "[data-testid=users-table]")
    shot("users")
    browser.get(f"{base}/dashboard/audit_log")
    audit = text(browser, "[data-testid=audit-table]")
    assert "user.login" in audit and "api_key.revoke" in audit and "user.create" in audit
    shot("audit-log")
    browser.get(f"{base}/dashboard/overview")
    assert "₹2,499.00" in text(browser, "[data-testid=volume-today]")
    assert browser.find_elements(By.CSS_SELECTOR, "[data-testid=chart] rect")
    shot("overview")
    assert csp_violations(browser) == []
    sign_out(browser)
    browser.get(f"{base}/dashboard/payments")
    assert "/dashboard/login" in browser.current_url


def _merchant_with_a_completed_payment(db, config) -> str:
    with db.transaction() as s:
        owner = users.register(s, config, merchant_name="Darjeeling Direct",
                               email="owner@darjeeling.example", password=PASSWORD).user
        users.create_user(s, config, owner.merchant_id, email="viewer@darjeeling.example",
                          name="Ravi", role="viewer", password=PASSWORD,
                          actor=users.Actor("user", owner.id))
        payment = payment_service.create_payment(s, config, owner.merchant_id, {
            "amount": 99_900, "currency": "INR",
            "payment_method": {"type": "card", "token": "tok_success"}})
    assert process_payment(db, config, payment.id) == "completed"
    return payment.id


def _post_refund_form(browser, web_server, payment_id, token_js):
    """Submit a refund form built in the page, with the CSRF token ``token_js`` gives."""
    browser.execute_script(f"""
        var form = document.createElement('form');
        form.method = 'post';
        form.action = '/dashboard/payments/{payment_id}/refund';
        var token = document.createElement('input');
        token.name = 'csrf_token'; token.value = {token_js};
        form.appendChild(token);
        document.body.appendChild(form);
        form.submit();""")
    WebDriverWait(browser, 10).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=error-page]")))


def test_a_viewer_cannot_refund_and_a_forged_form_is_refused(browser, shot, web_server, db):
    browser.set_window_size(*DESKTOP)
    payment_id = _merchant_with_a_completed_payment(db, web_server.config)
    detail = f"{web_server.url}/dashboard/payments/{payment_id}"

    sign_in(browser, web_server, "owner@darjeeling.example")
    browser.get(detail)
    assert browser.find_elements(By.CSS_SELECTOR, "[data-testid=refund-button]")
    _post_refund_form(browser, web_server, payment_id, "'forged-token'")
    page = text(browser, "[data-testid=error-page]")
    assert "403" in page and "CSRF" in page
    shot("csrf-refused")
    browser.get(detail)
    sign_out(browser)

    sign_in(browser, web_server, "viewer@darjeeling.example")
    browser.get(detail)
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid=refund-button]")
    assert "may look but not refund" in text(browser, "[data-testid=no-refund]")
    shot("viewer-payment-detail")
    _post_refund_form(browser, web_server, payment_id,
                      "document.querySelector('input[name=csrf_token]').value")
    page = text(browser, "[data-testid=error-page]")
    assert "403" in page and "may not do refunds.write" in page
    shot("viewer-refund-refused")
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Refund)) == 0
    assert re.search(r"/dashboard/payments/pay_", browser.current_url)
