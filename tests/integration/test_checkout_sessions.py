"""Hosted checkout (SPEC "Dashboard and hosted checkout"): the checkout_sessions API and the
customer's /pay page, through the Flask test client on the real PostgreSQL. The worker's job
is run in-process (``process_payment`` with the sandbox) where a test needs an outcome; the
browser tests in tests/browser/ drive the same page with real workers."""
from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from shared.checkout import service as checkout_service
from shared.checkout.models import CheckoutSession
from shared.errors import Conflict
from shared.payments.models import Payment
from shared.payments.processing import process_payment
from tests.factories import create_checkout_session, create_order

SUCCESS = "https://shop.example/thanks?cs={CHECKOUT_SESSION_ID}"
CANCEL = "https://shop.example/cart"


def create_session(client, merchant, **changes) -> dict:
    return create_checkout_session(client, merchant["headers"],
                                   **{"success_url": SUCCESS, "cancel_url": CANCEL, **changes})


def csrf_of(page_html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page_html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def open_page(client, session_id):
    response = client.get(f"/pay/{session_id}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def submit(client, session_id, csrf=None, **form):
    data = {"csrf_token": csrf or csrf_of(open_page(client, session_id)), **form}
    return client.post(f"/pay/{session_id}", data=data)


def payments_count(db) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Payment))


# --- the API --------------------------------------------------------------------------------

def test_create_answers_an_open_session_with_its_page_url(client, merchant, config):
    before = datetime.now(UTC)
    body = create_session(client, merchant)
    assert body["id"].startswith("cs_") and body["object"] == "checkout_session"
    assert body["status"] == "open" and body["payment_id"] is None
    assert body["url"] == f"{config.providers.public_base_url}/pay/{body['id']}"
    assert (body["amount"], body["currency"]) == (49_900, "INR")
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    expected = before + timedelta(seconds=config.checkout_expiry_s)
    assert abs((expires - expected).total_seconds()) < 5
    fetched = client.get(f"/api/v1/checkout_sessions/{body['id']}", headers=merchant["headers"])
    assert fetched.status_code == 200 and fetched.get_json()["id"] == body["id"]
    listed = client.get("/api/v1/checkout_sessions", headers=merchant["headers"]).get_json()
    assert [s["id"] for s in listed["data"]] == [body["id"]]


def test_a_session_for_an_order_takes_its_amount_and_currency(client, merchant):
    order = create_order(client, merchant["headers"], amount=1234, currency="KWD")
    body = create_session(client, merchant, amount=None, currency=None, order_id=order["id"])
    assert (body["amount"], body["currency"], body["order_id"]) == (1234, "KWD", order["id"])
    mismatch = client.post("/api/v1/checkout_sessions", headers=merchant["headers"], json={
        "order_id": order["id"], "amount": 999, "success_url": SUCCESS, "cancel_url": CANCEL})
    assert mismatch.status_code == 400
    assert mismatch.get_json()["error"]["code"] == "amount_mismatch"


def test_another_merchants_sessions_and_orders_do_not_exist(client, merchant, make_merchant):
    other = make_merchant("Other")
    theirs = create_session(client, other)
    response = client.get(f"/api/v1/checkout_sessions/{theirs['id']}",
                          headers=merchant["headers"])
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "resource_missing"
    assert client.get("/api/v1/checkout_sessions",
                      headers=merchant["headers"]).get_json()["data"] == []
    order = create_order(client, other["headers"], amount=100)
    refused = client.post("/api/v1/checkout_sessions", headers=merchant["headers"], json={
        "order_id": order["id"], "success_url": SUCCESS, "cancel_url": CANCEL})
    assert refused.status_code == 404 and refused.get_json()["error"]["param"] == "order_id"


@pytest.mark.parametrize("changes,param,code", [
    ({"amount": 10.5}, "amount", "parameter_invalid"),
    ({"amount": "499"}, "amount", "parameter_invalid"),
    ({"amount": True}, "amount", "parameter_invalid"),
    ({"amount": 10**13}, "amount", "parameter_invalid"),
    ({"amount": 0}, "amount", "parameter_invalid"),
    ({"currency": "inr"}, "currency", "parameter_invalid"),
    ({"amount": None}, "amount", "parameter_missing"),
    ({"success_url": None}, "success_url", "parameter_missing"),
    ({"success_url": "ftp://shop.example/x"}, "success_url", "url_invalid"),
    ({"cancel_url": "/relative"}, "cancel_url", "url_invalid"),
    ({"cancel_url": "http://[::1/x"}, "cancel_url", "url_invalid"),
    ({"success_url": "https://shop.example/\nSet-Cookie: x"}, "success_url", "url_invalid"),
    ({"success_url": "https://a.example/" + "x" * 3000}, "success_url", "parameter_invalid"),
    ({"order_id": "pay_123"}, "order_id", "parameter_invalid"),
    ({"provider": "paypal"}, "provider", "parameter_invalid"),
    ({"colour": "red"}, "colour", "parameter_unknown"),
    ({"customer": {"email": "not-an-email"}}, "customer.email", "parameter_invalid"),
])
def test_bad_input_is_refused_and_creates_nothing(client, merchant, db, changes, param, code):
    body = {"amount": 49_900, "currency": "INR", "success_url": SUCCESS, "cancel_url": CANCEL,
            **changes}
    body = {k: v for k, v in body.items() if v is not None}
    response = client.post("/api/v1/checkout_sessions", headers=merchant["headers"], json=body)
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert (error["param"], error["code"]) == (param, code)
    assert error["request_id"]
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(CheckoutSession)) == 0


def test_malformed_json_wrong_content_type_and_no_key(client, merchant):
    malformed = client.post("/api/v1/checkout_sessions", headers=merchant["headers"],
                            data="{not json", content_type="application/json")
    assert malformed.status_code == 400
    assert malformed.get_json()["error"]["code"] == "invalid_json"
    form = client.post("/api/v1/checkout_sessions", headers=merchant["headers"],
                       data={"amount": "1"})
    assert form.status_code == 415
    anonymous = client.post("/api/v1/checkout_sessions", json={"amount": 1})
    assert anonymous.status_code == 401


def test_idempotency_key_replays_the_same_session(client, merchant, db):
    headers = {**merchant["headers"], "Idempotency-Key": "cs-1"}
    body = {"amount": 100, "currency": "INR", "success_url": SUCCESS, "cancel_url": CANCEL}
    first = client.post("/api/v1/checkout_sessions", headers=headers, json=body)
    again = client.post("/api/v1/checkout_sessions", headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.get_json()["id"] == again.get_json()["id"]
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(CheckoutSession)) == 1


def test_production_mode_requires_https_return_urls(config, db, merchant):
    production = config.with_overrides(env="production")
    with pytest.raises(Exception) as refused, db.transaction() as session:
        checkout_service.create_session(session, production, merchant["merchant_id"], {
            "amount": 100, "currency": "INR", "success_url": "http://shop.example/ok",
            "cancel_url": CANCEL})
    assert getattr(refused.value, "code", None) == "url_invalid"


# --- the customer's page ------------------------------------------------------------------

def test_page_shows_merchant_and_amount_with_a_strict_policy(client, merchant):
    cs = create_session(client, merchant, amount=150_050)
    response = client.get(f"/pay/{cs['id']}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "Acme" in html and "₹1,500.50" in html and "Two notebooks" in html
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert "<script>" not in html  # no inline script: every script has a src
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_amounts_follow_the_currency_exponent(client, merchant):
    jpy = create_session(client, merchant, amount=1500, currency="JPY")
    kwd = create_session(client, merchant, amount=1500, currency="KWD")
    assert "¥1,500" in open_page(client, jpy["id"])
    assert "1.500 KWD" in open_page(client, kwd["id"])


def test_unknown_session_is_a_404_page(client):
    response = client.get("/pay/cs_doesnotexist")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "No such checkout session" in response.get_data(as_text=True)


def test_paying_creates_one_payment_through_the_payment_service(client, merchant, published,
                                                                db):
    cs = create_session(client, merchant, customer={"email": "c@example.com"})
    response = submit(client, cs["id"], method="upi", vpa="success@sandbox")
    assert response.status_code == 303 and response.headers["Location"].endswith(
        f"/pay/{cs['id']}")
    body = client.get(f"/api/v1/checkout_sessions/{cs['id']}",
                      headers=merchant["headers"]).get_json()
    assert body["status"] == "open" and body["payment_status"] == "pending"
    payment = client.get(f"/api/v1/payments/{body['payment_id']}",
                         headers=merchant["headers"]).get_json()
    assert (payment["amount"], payment["currency"], payment["provider"]) == (
        49_900, "INR", "sandbox")
    assert payment["payment_method"] == {"type": "upi", "vpa": "success@sandbox"}
    assert payment["customer"] == {"email": "c@example.com"}
    assert ("gateway.process_payment", [payment["id"]], "payments") in published
    status = client.get(f"/pay/{cs['id']}/status").get_json()
    assert (status["state"], status["redirect"]) == ("in_flight", None)


def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(client, merchant, db):
    cs = create_session(client, merchant)
    open_page(client, cs["id"])
    for token in ("", "forged-token"):
        response = client.post(f"/pay/{cs['id']}", data={
            "csrf_token": token, "method": "upi", "vpa": "success@sandbox"})
        assert response.status_code == 403
        assert "CSRF" in response.get_data(as_text=True)
    assert payments_count(db) == 0


def test_the_second_tab_cannot_pay_again(client, merchant, db):
    cs = create_session(client, merchant)
    token = csrf_of(open_page(client, cs["id"]))  # both tabs loaded the form
    first = client.post(f"/pay/{cs['id']}", data={"csrf_token": token, "method": "card",
                                                   "token": "tok_success"})
    second = client.post(f"/pay/{cs['id']}", data={"csrf_token": token, "method": "upi",
                                                    "vpa": "success@sandbox"})
    assert first.status_code == 303
    assert second.status_code == 409
    assert "already under way" in second.get_data(as_text=True)
    assert payments_count(db) == 1


def test_two_concurrent_payments_make_exactly_one(client, merchant, db, config):
    cs = create_session(client, merchant)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def pay(vpa):
        barrier.wait()
        try:
            with db.transaction() as session:
                checkout_service.pay(session, config, cs["id"], {"type": "upi", "vpa": vpa})
            outcomes.append("paid")
        except Conflict as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=pay, args=(f"tab{i}@sandbox",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["checkout_session_in_progress", "paid"]
    assert payments_count(db) == 1
    with db.transaction() as session:
        session_row = session.get(CheckoutSession, cs["id"])
        assert session_row.payment_id is not None and session_row.attempts == 1


def test_a_declined_attempt_can_be_retried_then_the_session_completes_once(
        client, merchant, db, config):
    cs = create_session(client, merchant)
    token = csrf_of(open_page(client, cs["id"]))
    assert submit(client, cs["id"], method="card", token="tok_decline").status_code == 303
    first = client.get(f"/api/v1/checkout_sessions/{cs['id']}",
                       headers=merchant["headers"]).get_json()["payment_id"]
    assert process_payment(db, config, first) == "failed"
    page = open_page(client, cs["id"])
    assert "The last attempt failed" in page and 'data-testid="card-form"' in page

    assert submit(client, cs["id"], method="upi", vpa="success@sandbox").status_code == 303
    body = client.get(f"/api/v1/checkout_sessions/{cs['id']}",
                      headers=merchant["headers"]).get_json()
    assert body["payment_id"] != first and body["attempts"] == 2
    assert process_payment(db, config, body["payment_id"]) == "completed"

    body = client.get(f"/api/v1/checkout_sessions/{cs['id']}",
                      headers=merchant["headers"]).get_json()
    assert (body["status"], body["payment_status"]) == ("complete", "completed")
    status = client.get(f"/pay/{cs['id']}/status").get_json()
    assert status["state"] == "complete"
    assert status["redirect"] == f"https://shop.example/thanks?cs={cs['id']}"
    page = open_page(client, cs["id"])
    assert "Payment received" in page and 'data-testid="upi-form"' not in page
    again = client.post(f"/pay/{cs['id']}", data={"csrf_token": token, "method": "upi",
                                                   "vpa": "success@sandbox"})
    assert again.status_code == 409 and payments_count(db) == 2


def test_an_expired_session_cannot_be_paid(client, merchant, db):
    cs = create_session(client, merchant)
    with db.transaction() as session:
        session.get(CheckoutSession, cs["id"]).expires_at = datetime.now(UTC) - timedelta(1)
    page = open_page(client, cs["id"])
    assert "This checkout has expired" in page and CANCEL in page
    assert 'data-testid="upi-form"' not in page
    token = csrf_of(client.get("/pay/" + create_session(client, merchant)["id"]).get_data(
        as_text=True))
    refused = client.post(f"/pay/{cs['id']}", data={"csrf_token": token, "method": "upi",
                                                     "vpa": "success@sandbox"})
    assert refused.status_code == 409 and payments_count(db) == 0
    assert client.get(f"/api/v1/checkout_sessions/{cs['id']}",
                      headers=merchant["headers"]).get_json()["status"] == "expired"


@pytest.mark.parametrize("form,code_text", [
    ({"method": "card", "token": "4242 4242 4242 4242"}, "Card numbers are not accepted"),
    ({"method": "upi", "vpa": "no-at-sign"}, "Not a valid UPI VPA"),
    ({"method": "upi", "vpa": ""}, "vpa"),
    ({"method": "bitcoin"}, "Choose UPI or card"),
    ({"method": "card", "token": "t" * 300}, "token"),
])
def test_bad_payment_details_are_refused_on_the_page(client, merchant, db, form, code_text):
    cs = create_session(client, merchant)
    response = submit(client, cs["id"], **form)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert code_text in html
    assert "4242 4242 4242 4242" not in html and "4242424242424242" not in html
    assert payments_count(db) == 0


def test_provider_return_sends_the_customer_back_to_the_checkout_page(client, merchant):
    cs = create_session(client, merchant)
    submit(client, cs["id"], method="upi", vpa="success@sandbox")
    payment_id = client.get(f"/api/v1/checkout_sessions/{cs['id']}",
                            headers=merchant["headers"]).get_json()["payment_id"]
    response = client.get(f"/checkout/return/{payment_id}")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/pay/{cs['id']}")


def test_the_assets_are_served_by_the_app(client):
    for name in ("app.css", "checkout.js"):
        response = client.get(f"/assets/{name}")
        assert response.status_code == 200 and len(response.data) > 500


# --- hand-over to a provider's own checkout (the simulators of tests/providers) -------------

@pytest.mark.parametrize("name,form,kind", [
    ("razorpay", {"method": "upi", "vpa": "customer@okaxis"}, "form"),
    ("phonepe", {"method": "card", "token": "tok_visa"}, "redirect"),
    ("cashfree", {"method": "upi", "vpa": "customer@okaxis"}, "cashfree"),
])
def test_the_page_hands_over_to_the_providers_checkout(config, db, make_merchant, name, form,
                                                       kind):
    from dataclasses import replace

    from api import create_app
    from tests.providers.conftest import BUILDERS
    built = BUILDERS[name]()
    try:
        cfg = config.with_overrides(providers=replace(
            built.credentials, public_base_url="http://localhost"), provider_timeout_s=2)
        client = create_app(cfg, db=db, publish=lambda *a: None).test_client()
        merchant = make_merchant()
        cs = create_session(client, merchant, provider=name)
        assert submit(client, cs["id"], **form).status_code == 303
        payment_id = client.get(f"/api/v1/checkout_sessions/{cs['id']}",
                                headers=merchant["headers"]).get_json()["payment_id"]
        process_payment(db, cfg, payment_id)
        payment = client.get(f"/api/v1/payments/{payment_id}",
                             headers=merchant["headers"]).get_json()
        assert payment["status"] == "processing" and payment["next_action"]

        response = client.get(f"/pay/{cs['id']}")
        html, policy = response.get_data(as_text=True), response.headers[
            "Content-Security-Policy"]
        assert client.get(f"/pay/{cs['id']}/status").get_json()["state"] == "handover"
        if kind == "form":
            assert f'action="{cfg.providers.razorpay_base_url}/checkout/embedded"' in html
            assert payment["provider_payment_id"] in html
            assert f"form-action 'self' {built.sim.url}" in policy
            handoff = built.sim.customer_pays(payment["provider_payment_id"])
            forged = dict(handoff, razorpay_signature="0" * 64)
            refused = client.post(f"/pay/{cs['id']}/razorpay", data=forged)
            assert refused.status_code == 400 and "signature" in refused.get_data(
                as_text=True)
            back = client.post(f"/pay/{cs['id']}/razorpay", data=handoff)
            assert back.status_code == 303
        else:
            if kind == "redirect":
                url = payment["next_action"]["url"]
                assert "data-auto-redirect" in html and f'href="{url}"' in html
            else:
                session_id = payment["next_action"]["payment_session_id"]
                assert f'data-session="{session_id}"' in html
                assert 'src="https://sdk.cashfree.com/js/v3/cashfree.js"' in html
                assert "script-src 'self' https://sdk.cashfree.com" in policy
            built.sim.customer_pays(payment["provider_payment_id"])
            process_payment(db, cfg, payment_id)
        status = client.get(f"/pay/{cs['id']}/status").get_json()
        assert (status["state"], status["payment_status"]) == ("complete", "completed")
        assert status["redirect"] == f"https://shop.example/thanks?cs={cs['id']}"
    finally:
        built.sim.stop()


def test_an_oversized_form_is_refused_and_changes_nothing(client, merchant, db):
    cs = create_session(client, merchant)
    response = submit(client, cs["id"], method="upi", vpa="a" * (2 * 1024 * 1024) + "@x")
    assert response.status_code == 413
    assert payments_count(db) == 0


def test_a_live_key_sees_no_test_session_and_gets_no_sandbox(client, merchant, db):
    from shared.merchants.credentials import issue_key
    with db.transaction() as session:
        live = issue_key(session, merchant["merchant_id"], livemode=True)
    live_headers = {"Authorization": f"Bearer {live.api_key}"}
    test_session = create_session(client, merchant)
    assert test_session["livemode"] is False
    hidden = client.get(f"/api/v1/checkout_sessions/{test_session['id']}", headers=live_headers)
    assert hidden.status_code == 404
    no_sandbox = client.post("/api/v1/checkout_sessions", headers=live_headers, json={
        "amount": 100, "currency": "INR", "success_url": SUCCESS, "cancel_url": CANCEL})
    assert no_sandbox.status_code == 400
    assert no_sandbox.get_json()["error"]["code"] == "provider_unavailable"


def test_nul_characters_in_the_form_are_refused(client, merchant, db):
    cs = create_session(client, merchant)
    response = submit(client, cs["id"], method="card", token="tok_\x00success")
    assert response.status_code == 400 and "NUL" in response.get_data(as_text=True)
    assert client.get(f"/pay/{cs['id']}?x=%00").status_code == 400
    assert payments_count(db) == 0


def test_a_viewer_may_read_but_not_create_checkout_sessions(client, merchant, db, config):
    from shared.audit.service import SYSTEM_ACTOR
    from shared.users import service as users
    fast = config.with_overrides(password_hash_time_cost=1, password_hash_memory_kib=8192,
                                 password_hash_parallelism=1)
    with db.transaction() as session:
        users.create_user(session, fast, merchant["merchant_id"], email="v@example.com",
                          name="Viewer", role="viewer", password="correct horse battery",
                          actor=SYSTEM_ACTOR)
    login = client.post("/api/v1/auth/login", json={"email": "v@example.com",
                                                    "password": "correct horse battery"})
    assert login.status_code == 200, login.get_data(as_text=True)
    viewer = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
    existing = create_session(client, merchant)
    refused = client.post("/api/v1/checkout_sessions", headers=viewer, json={
        "amount": 100, "currency": "INR", "success_url": SUCCESS, "cancel_url": CANCEL})
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "insufficient_role"
    assert client.get(f"/api/v1/checkout_sessions/{existing['id']}",
                      headers=viewer).status_code == 200
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(CheckoutSession)) == 1
