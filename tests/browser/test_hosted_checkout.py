"""A customer pays on the hosted checkout page in a real browser, end to end: the merchant's
server creates a checkout session, the customer pays with UPI on /pay/{cs_id}, a real worker
charges the sandbox, the page follows the progress and sends the customer to the merchant's
success_url, and the merchant's endpoint receives a signed ``payment.completed``."""
from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait
from standardwebhooks import Webhook

from tests.browser.conftest import csp_violations
from tests.harness.processes import wait_for


def _session(api, merchant_site, **changes) -> dict:
    return api.post("/api/v1/checkout_sessions", {
        "amount": 49_900, "currency": "INR", "description": "Masala chai x 2",
        "success_url": merchant_site.url + "/thanks?cs={CHECKOUT_SESSION_ID}",
        "cancel_url": merchant_site.url + "/cart", **changes})


def test_a_customer_pays_on_the_hosted_page_up_to_the_signed_webhook(
        browser, shot, web_server, merchant_site, make_merchant, make_receiver, start_worker):
    merchant = make_merchant("Chai Point")
    api = web_server.api(merchant)
    receiver = make_receiver()
    endpoint = api.post("/api/v1/webhook_endpoints",
                        {"url": receiver.url, "events": ["payment.completed"]})
    start_worker(queues="payments,refunds,webhooks,maintenance")
    cs = _session(api, merchant_site)

    browser.get(cs["url"])
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=merchant-name]").text == \
        "Chai Point"
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=amount]").text == "₹499.00"
    shot("checkout-open")
    browser.find_element(By.ID, "vpa").send_keys("success@sandbox")
    browser.find_element(By.CSS_SELECTOR, "[data-testid=upi-form] button").click()

    # The page shows progress, then the paid state, then leaves for the merchant's site.
    seen = WebDriverWait(browser, 20).until(lambda d: d.current_url.startswith(
        merchant_site.url) or d.find_elements(By.CSS_SELECTOR,
                                              "[data-testid=progress], [data-testid=paid]"))
    if seen is not True and seen:
        shot("checkout-progress" if seen[0].get_attribute("data-testid") == "progress"
             else "checkout-paid")
    WebDriverWait(browser, 30).until(lambda d: d.current_url.startswith(merchant_site.url))
    assert browser.current_url == f"{merchant_site.url}/thanks?cs={cs['id']}"
    shot("merchant-success-page")
    assert csp_violations(browser) == []

    paid = api.get(f"/api/v1/checkout_sessions/{cs['id']}")
    assert (paid["status"], paid["payment_status"]) == ("complete", "completed")
    payment = api.get(f"/api/v1/payments/{paid['payment_id']}")
    assert payment["payment_method"] == {"type": "upi", "vpa": "success@sandbox"}

    def delivered():
        return [r for r in receiver.received() if r.event["type"] == "payment.completed"]
    received = wait_for(delivered, 30, message="payment.completed at the merchant's endpoint")
    event = Webhook(endpoint["secret"]).verify(received[0].body, received[0].headers)
    assert event["data"]["object"]["id"] == paid["payment_id"]
    assert event["data"]["object"]["status"] == "completed"
    assert event["data"]["object"]["amount"] == 49_900


def test_two_tabs_pay_at_most_once(browser, shot, web_server, merchant_site, make_merchant):
    merchant = make_merchant("Chai Point")
    api = web_server.api(merchant)
    cs = _session(api, merchant_site)  # no worker: the first payment stays pending

    browser.get(cs["url"])
    first_tab = browser.current_window_handle
    browser.switch_to.new_window("tab")
    second_tab = browser.current_window_handle
    browser.get(cs["url"])

    browser.switch_to.window(first_tab)
    browser.find_element(By.ID, "token").send_keys("tok_success")
    browser.find_element(By.CSS_SELECTOR, "[data-testid=card-form] button").click()
    WebDriverWait(browser, 10).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=progress]")))
    shot("checkout-processing")

    browser.switch_to.window(second_tab)
    browser.find_element(By.ID, "vpa").send_keys("success@sandbox")
    browser.find_element(By.CSS_SELECTOR, "[data-testid=upi-form] button").click()
    error = WebDriverWait(browser, 10).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=error]")))
    assert "already under way" in error.text
    shot("checkout-second-tab-refused")

    payments = api.get("/api/v1/payments")["data"]
    assert len(payments) == 1
    assert payments[0]["payment_method"] == {"type": "card", "token": "tok_success"}
    assert api.get(f"/api/v1/checkout_sessions/{cs['id']}")["payment_id"] == payments[0]["id"]


def test_a_declined_card_can_be_retried_and_cancel_returns_to_the_shop(
        browser, shot, web_server, merchant_site, make_merchant, start_worker):
    merchant = make_merchant("Chai Point")
    api = web_server.api(merchant)
    start_worker(queues="payments,maintenance")
    cs = _session(api, merchant_site, amount=1500, currency="JPY")

    browser.get(cs["url"])
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=amount]").text == "¥1,500"
    browser.find_element(By.ID, "token").send_keys("tok_decline")
    browser.find_element(By.CSS_SELECTOR, "[data-testid=card-form] button").click()
    error = WebDriverWait(browser, 30).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=error]")))
    assert "The last attempt failed" in error.text
    shot("checkout-declined")
    browser.find_element(By.CSS_SELECTOR, "[data-testid=cancel]").click()
    WebDriverWait(browser, 10).until(lambda d: d.current_url == merchant_site.url + "/cart")
    assert api.get(f"/api/v1/checkout_sessions/{cs['id']}")["status"] == "open"
