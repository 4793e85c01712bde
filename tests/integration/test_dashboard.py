"""The dashboard (SPEC "Dashboard and hosted checkout") through the Flask test client: signing
in and out over the accounts service, every page rendering for an owner, roles applied as the
API applies them, CSRF refusal, another merchant's objects not found, and changes going
through the API's services. The browser tests in tests/browser/ walk the same pages."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shared.config import Config
from shared.db import utcnow
from shared.ledger import balance
from shared.ledger.models import BalanceTransaction, Payout
from shared.ledger.payouts import process_payout
from shared.merchants.models import ApiKey
from shared.payments.processing import process_payment
from shared.refunds.models import Refund
from shared.webhooks.models import WebhookEndpoint
from tests import factories
from tests.factories import UPI, create_order, create_payment, create_refund

FAST_HASHING = {"PASSWORD_HASH_TIME_COST": "1", "PASSWORD_HASH_MEMORY_KIB": "8192",
                "PASSWORD_HASH_PARALLELISM": "1"}
PASSWORD = "correct horse battery staple"
SETTLED = timedelta(days=3)  # past the default SETTLEMENT_DELAY_S of two days


@pytest.fixture
def config(base_env) -> Config:
    return Config.from_env({**base_env, **FAST_HASHING})


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def page(client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code,
                                            response.get_data(as_text=True)[:500])
    return response.get_data(as_text=True)


def post(client, path: str, data: dict | None = None, *, from_page: str = "/dashboard/login"):
    token = csrf(page(client, from_page))
    return client.post(path, data={"csrf_token": token, **(data or {})})


def register(client, email="owner@example.com", merchant="Acme Teas"):
    response = post(client, "/dashboard/register", {
        "merchant_name": merchant, "email": email, "password": PASSWORD},
        from_page="/dashboard/register")
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    return response


def api_headers(client, email=None, password=PASSWORD):
    """A bearer header for the signed-in user's merchant, through the API's own login."""
    body = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert body.status_code == 200, body.get_data(as_text=True)
    return {"Authorization": f"Bearer {body.get_json()['access_token']}"}


def completed_payment(client, db, config, headers, amount=150_000) -> str:
    return factories.completed_payment(client, headers, db, config, amount=amount,
                                       description="Darjeeling 1 kg", payment_method=UPI)["id"]


def add_user(client, role: str) -> str:
    email = f"{role}@example.com"
    response = post(client, "/dashboard/users", {"email": email, "name": role.title(),
                                                  "role": role, "password": PASSWORD},
                    from_page="/dashboard/users")
    assert response.status_code == 303
    return email


def sign_in(client, email):
    """Sign out whoever is signed in, then sign in as ``email``."""
    post(client, "/dashboard/logout", from_page="/dashboard/overview")
    response = post(client, "/dashboard/login", {"email": email, "password": PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]


def test_pages_need_a_signed_in_user(client):
    response = client.get("/dashboard/payments?status=failed")
    assert response.status_code == 302
    assert "/dashboard/login?next=" in response.headers["Location"]


def test_register_sign_out_and_sign_in_again(client):
    register(client)
    overview = page(client, "/dashboard/overview")
    assert "owner@example.com" in overview and "No payments yet" in overview
    out = post(client, "/dashboard/logout", from_page="/dashboard/overview")
    assert out.status_code == 303 and out.headers["Location"].endswith("/dashboard/login")
    assert client.get("/dashboard/overview").status_code == 302
    wrong = post(client, "/dashboard/login", {"email": "owner@example.com",
                                              "password": "wrong password!!"})
    unknown = post(client, "/dashboard/login", {"email": "nobody@example.com",
                                                "password": "wrong password!!"})
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong email or password." in wrong.get_data(as_text=True)
    assert "Wrong email or password." in unknown.get_data(as_text=True)
    again = post(client, "/dashboard/login", {"email": "owner@example.com",
                                              "password": PASSWORD,
                                              "next": "//evil.example/x"})
    assert again.status_code == 303 and again.headers["Location"].endswith(
        "/dashboard/overview")  # never an open redirect


def test_the_session_cookie_and_page_headers_are_strict(client):
    response = register(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    answer = client.get("/dashboard/overview")
    policy = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert answer.headers["X-Frame-Options"] == "DENY"
    html = answer.get_data(as_text=True)
    assert "<script>" not in html and "style=" not in html and "https://" not in html


def test_every_page_renders_for_an_owner_with_data(client, db, config):
    register(client)
    headers = api_headers(client, "owner@example.com")
    payment_id = completed_payment(client, db, config, headers)
    create_order(client, headers, amount=500)
    create_refund(client, headers, payment_id, amount=100)
    overview = page(client, "/dashboard/overview")
    assert "₹1,500.00" in overview and "100.0%" in overview and "<svg" in overview
    for path in ("/dashboard/payments", "/dashboard/payments?status=completed&limit=50",
                 "/dashboard/payments?from=2020-01-01&to=2099-12-31",
                 f"/dashboard/payments/{payment_id}", "/dashboard/orders",
                 "/dashboard/refunds", "/dashboard/webhooks", "/dashboard/api_keys",
                 "/dashboard/users", "/dashboard/audit_log", "/dashboard/balance",
                 "/dashboard/payouts",
                 "/dashboard/audit_log?action=user.login"):
        html = page(client, path)
        assert "Sign out" in html, path
    detail = page(client, f"/dashboard/payments/{payment_id}")
    assert "payment.completed" in detail and "create_payment" in detail
    assert 'data-testid="refund-button"' in detail
    assert "user.login" in page(client, "/dashboard/audit_log")


def test_filters_and_pagination_live_in_the_url(client, db, config):
    register(client)
    headers = api_headers(client, "owner@example.com")
    ids = [completed_payment(client, db, config, headers, amount=100 + i) for i in range(3)]
    first = page(client, "/dashboard/payments?limit=2&status=completed")
    assert ids[2] in first and ids[1] in first and ids[0] not in first
    older = re.search(r'data-testid="next-page" href="([^"]+)"', first).group(1)
    assert "status=completed" in older and "limit=2" in older
    second = page(client, older.replace("&amp;", "&"))
    assert ids[0] in second and ids[2] not in second
    assert "No payments match" in page(client, "/dashboard/payments?status=failed")
    bad = client.get("/dashboard/payments?status=nonsense")
    assert bad.status_code == 400 and "status" in bad.get_data(as_text=True)


def test_refund_from_the_payment_page(client, db, config):
    register(client)
    headers = api_headers(client, "owner@example.com")
    payment_id = completed_payment(client, db, config, headers)
    detail = f"/dashboard/payments/{payment_id}"
    too_much = post(client, f"{detail}/refund", {"amount": "1500.01"}, from_page=detail)
    assert too_much.status_code == 303
    assert "exceeds" in page(client, detail)
    sub_paisa = post(client, f"{detail}/refund", {"amount": "1.005"}, from_page=detail)
    assert sub_paisa.status_code == 303 and "minor-unit" in page(client, detail)
    done = post(client, f"{detail}/refund", {"amount": "250.50", "reason": "broken seal"},
                from_page=detail)
    assert done.status_code == 303
    with db.transaction() as s:
        refunds = s.scalars(select(Refund)).all()
    assert [(r.amount, r.reason, r.payment_id) for r in refunds] == [
        (25_050, "broken seal", payment_id)]
    from shared.audit.models import AuditLog
    with db.transaction() as s:
        rows = s.scalars(select(AuditLog).where(AuditLog.action == "refund.create")).all()
    assert [(r.object_id, r.actor_type) for r in rows] == [(refunds[0].id, "user")]


def test_a_viewer_sees_no_refund_button_and_gets_403_posting_anyway(client, db, config):
    register(client)
    headers = api_headers(client, "owner@example.com")
    payment_id = completed_payment(client, db, config, headers)
    viewer = add_user(client, "viewer")
    sign_in(client, viewer)
    detail = page(client, f"/dashboard/payments/{payment_id}")
    assert 'data-testid="refund-button"' not in detail and "may look but not refund" in detail
    response = post(client, f"/dashboard/payments/{payment_id}/refund", {"amount": "1"},
                    from_page=f"/dashboard/payments/{payment_id}")
    assert response.status_code == 403
    assert "may not do refunds.write" in response.get_data(as_text=True)
    assert client.get("/dashboard/users").status_code == 403
    assert "Users" not in page(client, "/dashboard/overview").split("<main")[0]
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Refund)) == 0


def test_forms_without_the_csrf_token_are_refused(client, db):
    register(client)
    for token in (None, "forged"):
        data = {"csrf_token": token} if token else {}
        response = client.post("/dashboard/api_keys", data=data)
        assert response.status_code == 403 and "CSRF" in response.get_data(as_text=True)
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(ApiKey)) == 0


def test_api_keys_are_shown_once_and_revoked(client, db):
    register(client)
    created = post(client, "/dashboard/api_keys", from_page="/dashboard/api_keys")
    assert created.status_code == 200
    secret = re.search(r'data-testid="secret">([^<]+)<', created.get_data(as_text=True))[1]
    assert secret.startswith("sk_")
    listing = page(client, "/dashboard/api_keys")
    assert secret not in listing and secret[:10] in listing
    usable = client.get("/api/v1/payments", headers={"Authorization": f"Bearer {secret}"})
    assert usable.status_code == 200
    key_id = re.search(r'<tr data-id="(key_[0-9a-z]+)"', listing)[1]
    revoked = post(client, f"/dashboard/api_keys/{key_id}/revoke",
                   from_page="/dashboard/api_keys")
    assert revoked.status_code == 303
    assert client.get("/api/v1/payments",
                      headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_webhook_endpoint_create_test_rotate_delete(client, db, published):
    register(client)
    created = post(client, "/dashboard/webhooks", {"url": "http://127.0.0.1:9/hooks",
                                                    "events": "payment.completed"},
                   from_page="/dashboard/webhooks")
    html = created.get_data(as_text=True)
    assert created.status_code == 200 and "whsec_" in html
    with db.transaction() as s:
        endpoint = s.scalars(select(WebhookEndpoint)).one()
    detail = f"/dashboard/webhooks/{endpoint.id}"
    assert endpoint.secret not in page(client, detail)
    assert post(client, f"{detail}/test", from_page=detail).status_code == 303
    assert 'data-testid="deliveries"' in page(client, detail)
    rotated = post(client, f"{detail}/rotate", from_page=detail)
    assert rotated.status_code == 200 and "whsec_" in rotated.get_data(as_text=True)
    bad = post(client, "/dashboard/webhooks", {"url": "not a url"},
               from_page="/dashboard/webhooks")
    assert bad.status_code == 303
    assert "url" in page(client, "/dashboard/webhooks").lower()
    assert post(client, f"{detail}/delete", from_page=detail).status_code == 303
    from shared.audit.models import AuditLog
    with db.transaction() as s:
        actions = sorted(r.action for r in s.scalars(select(AuditLog).where(
            AuditLog.action.like("webhook_endpoint.%"))))
    assert actions == ["webhook_endpoint.create", "webhook_endpoint.delete",
                       "webhook_endpoint.rotate_secret", "webhook_endpoint.test"]


def test_another_merchants_objects_are_not_found(client, db, config):
    register(client, "other@example.com", "Other")
    other_headers = api_headers(client, "other@example.com")
    theirs = completed_payment(client, db, config, other_headers)
    post(client, "/dashboard/logout", from_page="/dashboard/overview")
    register(client)
    assert client.get(f"/dashboard/payments/{theirs}").status_code == 404
    refund = post(client, f"/dashboard/payments/{theirs}/refund", {"amount": "1"},
                  from_page="/dashboard/overview")
    assert refund.status_code == 404
    assert theirs not in page(client, "/dashboard/payments")
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Refund)) == 0


def test_the_demo_owner_of_make_run_can_sign_in(client, db, config):
    from shared.merchants.credentials import create_merchant
    from shared.users.service import create_demo_owner
    with db.transaction() as s:
        merchant, _key = create_merchant(s, "Demo merchant")
        owner, password = create_demo_owner(s, config, merchant.id)
        email = owner.email
    assert len(password) >= 12
    response = post(client, "/dashboard/login", {"email": email, "password": password})
    assert response.status_code == 303
    assert "Demo owner" in page(client, "/dashboard/overview")


def test_the_overview_counts_by_day_on_sqlite_too(tmp_path, config):
    """``make run`` uses SQLite: the per-day grouping must work there as on PostgreSQL."""
    from shared.dashboard.queries import overview
    from shared.db import Database
    from shared.merchants.credentials import create_merchant
    from shared.migrate import upgrade
    from shared.payments import service as payment_service
    url = f"sqlite:///{tmp_path}/dev.db"
    upgrade(url)
    database = Database(url)
    with database.transaction() as s:
        merchant, _key = create_merchant(s, "Dev")
        for token in ("tok_success", "tok_decline"):
            payment_service.create_payment(s, config, merchant.id, {
                "amount": 700, "currency": "INR",
                "payment_method": {"type": "card", "token": token}})
    with database.transaction() as s:
        figures = overview(s, merchant.id)
    database.dispose()
    assert len(figures.days) == 30
    assert figures.days[-1].other == 2 and sum(d.total for d in figures.days) == 2
    assert figures.count_today == 2 and figures.volume_today == {}


def test_a_live_mode_session_sees_only_live_objects(client, db, config):
    register(client)
    test_headers = api_headers(client, "owner@example.com")
    test_payment = completed_payment(client, db, config, test_headers)
    post(client, "/dashboard/logout", from_page="/dashboard/overview")
    live = post(client, "/dashboard/login", {"email": "owner@example.com",
                                             "password": PASSWORD, "livemode": "on"})
    assert live.status_code == 303
    overview = page(client, "/dashboard/overview")
    assert "Live mode" in overview and test_payment not in overview
    assert test_payment not in page(client, "/dashboard/payments")
    assert client.get(f"/dashboard/payments/{test_payment}").status_code == 404


def test_the_session_cookie_is_secure_in_production(config, db):
    from api import create_app
    production = config.with_overrides(env="production", secret_key="s" * 40)
    client = create_app(production, db=db, publish=lambda *a: None).test_client()
    response = client.get("/dashboard/login")
    assert response.status_code == 200
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def released_payment(client, db, config, amount=150_000) -> str:
    """A completed payment whose net has become available (FEE_BPS=200: 2% is kept)."""
    payment_id = completed_payment(client, db, config, api_headers(client, "owner@example.com"),
                                   amount=amount)
    balance.release_available(db, now=utcnow() + SETTLED)
    return payment_id


def cell(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}">([^<]*)<', html)
    assert match, f"no {testid} on the page"
    return match.group(1)


def test_the_balance_page_shows_pending_then_available_and_its_transactions(client, db,
                                                                            config):
    register(client)
    assert "No balance yet" in page(client, "/dashboard/balance")
    headers = api_headers(client, "owner@example.com")
    payment_id = completed_payment(client, db, config, headers, amount=150_000)
    with db.transaction() as s:
        (txn,) = s.scalars(select(BalanceTransaction)).all()
        assert (txn.amount, txn.fee, txn.net) == (150_000, 3_000, 147_000)
    before = page(client, "/dashboard/balance")
    assert (cell(before, "available-INR"), cell(before, "pending-INR")) == ("₹0.00", "₹1,470.00")
    assert txn.id in before and f"/dashboard/payments/{payment_id}" in before
    assert "badge-pending" in before.split('data-testid="transactions-table"')[1]
    balance.release_available(db, now=utcnow() + SETTLED)
    after = page(client, "/dashboard/balance")
    assert (cell(after, "available-INR"), cell(after, "pending-INR")) == ("₹1,470.00", "₹0.00")
    assert "badge-available" in after
    assert "No balance transactions match" in page(client, "/dashboard/balance?type=payout")
    assert txn.id in page(client, "/dashboard/balance?type=payment")
    bad = client.get("/dashboard/balance?type=nonsense")
    assert bad.status_code == 400 and "type" in bad.get_data(as_text=True)


def test_balance_transactions_page_by_a_cursor_in_the_url(client, db, config):
    register(client)
    headers = api_headers(client, "owner@example.com")
    for amount in (1_000, 2_000, 3_000):
        completed_payment(client, db, config, headers, amount=amount)
    with db.transaction() as s:
        ids = sorted(s.scalars(select(BalanceTransaction.id)).all())  # ids sort by time
    first = page(client, "/dashboard/balance?type=payment&limit=2")
    assert ids[2] in first and ids[1] in first and ids[0] not in first
    older = re.search(r'data-testid="next-page" href="([^"]+)"', first).group(1)
    assert "type=payment" in older and "limit=2" in older and "starting_after=" in older
    second = page(client, older.replace("&amp;", "&"))
    assert ids[0] in second and ids[2] not in second
    assert 'data-testid="next-page"' not in second


def test_an_owner_requests_a_payout_from_the_page(client, db, config):
    register(client)
    released_payment(client, db, config)  # ₹1,470.00 available
    payouts = page(client, "/dashboard/payouts")
    assert 'data-testid="payout-form"' in payouts and "₹1,470.00 available" in payouts
    assert 'data-testid="to-payouts"' in page(client, "/dashboard/balance")
    for amount, says in (("1470.01", "exceeds the available balance"),
                         ("1.005", "minor-unit decimals"), ("", "amount: Missing data"),
                         ("many", "minor-unit decimals")):
        refused = post(client, "/dashboard/payouts", {"currency": "INR", "amount": amount},
                       from_page="/dashboard/payouts")
        assert refused.status_code == 303 and refused.headers["Location"].endswith(
            "/dashboard/payouts")
        assert says in page(client, "/dashboard/payouts"), amount
    wrong_currency = post(client, "/dashboard/payouts", {"currency": "XXQ", "amount": "1"},
                          from_page="/dashboard/payouts")
    assert wrong_currency.status_code == 303
    assert "currency: Must be an upper-case ISO-4217" in page(client, "/dashboard/payouts")
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Payout)) == 0
    done = post(client, "/dashboard/payouts", {"currency": "INR", "amount": "1,000.50"},
                from_page="/dashboard/payouts")
    assert done.status_code == 303
    with db.transaction() as s:
        (payout,) = s.scalars(select(Payout)).all()
        assert (payout.amount, payout.currency, payout.status) == (100_050, "INR", "pending")
    listing = page(client, "/dashboard/payouts")
    assert f"Payout {payout.id} requested" in listing
    row = listing.split(f'<tr data-id="{payout.id}">')[1].split("</tr>")[0]
    assert "₹1,000.50" in row and "badge-pending" in row
    assert cell(page(client, "/dashboard/balance"), "available-INR") == "₹469.50"
    assert process_payout(db, payout.id) == "paid"
    paid = page(client, "/dashboard/payouts?status=paid")
    assert payout.id in paid and "badge-paid" in paid
    assert "No payouts match" in page(client, "/dashboard/payouts?status=failed")
    assert payout.id in page(client, f"/dashboard/balance?payout_id={payout.id}")
    from shared.audit.models import AuditLog
    with db.transaction() as s:
        rows = s.scalars(select(AuditLog).where(AuditLog.action == "payout.create")).all()
    assert [(r.object_id, r.actor_type) for r in rows] == [(payout.id, "user")]


def test_a_viewer_sees_the_balance_but_no_payout_form_and_gets_403_posting(client, db,
                                                                           config):
    register(client)
    released_payment(client, db, config)
    viewer = add_user(client, "viewer")
    sign_in(client, viewer)
    html = page(client, "/dashboard/balance")
    assert cell(html, "available-INR") == "₹1,470.00"
    assert 'data-testid="to-payouts"' not in html and 'data-testid="payout-form"' not in html
    nav = html.split("<main")[0]
    assert "Balance" in nav and "Payouts" not in nav  # payouts.read is owner/admin
    assert client.get("/dashboard/payouts").status_code == 403
    response = post(client, "/dashboard/payouts", {"currency": "INR", "amount": "1"},
                    from_page="/dashboard/balance")
    assert response.status_code == 403
    assert "may not do payouts.write" in response.get_data(as_text=True)
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Payout)) == 0


def test_the_payout_form_without_the_csrf_token_is_refused(client, db, config):
    register(client)
    released_payment(client, db, config)
    for token in (None, "forged"):
        data = {"currency": "INR", "amount": "1"} | ({"csrf_token": token} if token else {})
        response = client.post("/dashboard/payouts", data=data)
        assert response.status_code == 403 and "CSRF" in response.get_data(as_text=True)
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Payout)) == 0


def test_another_merchants_balance_and_payouts_are_invisible(client, db, config):
    register(client, "owner@example.com", "Other")
    released_payment(client, db, config)
    assert post(client, "/dashboard/payouts", {"currency": "INR", "amount": "100"},
                from_page="/dashboard/payouts").status_code == 303
    with db.transaction() as s:
        (theirs,) = s.scalars(select(Payout)).all()
        their_txns = s.scalars(select(BalanceTransaction.id)).all()
    post(client, "/dashboard/logout", from_page="/dashboard/overview")
    register(client, "mine@example.com", "Mine")
    payouts = page(client, "/dashboard/payouts")
    assert theirs.id not in payouts and "No payouts yet" in payouts
    assert "nothing available" in payouts
    mine = page(client, "/dashboard/balance")
    assert "No balance yet" in mine and not any(t in mine for t in their_txns)
    assert theirs.id not in page(client, f"/dashboard/balance?payout_id={theirs.id}")
    # and their balance cannot be paid out from here
    refused = post(client, "/dashboard/payouts", {"currency": "INR", "amount": "1"},
                   from_page="/dashboard/payouts")
    assert refused.status_code == 303 and "exceeds" in page(client, "/dashboard/payouts")
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Payout)) == 1


def test_the_payment_page_shows_the_risk_decision_and_its_rules(client, db, config):
    register(client)
    headers = api_headers(client, "owner@example.com")
    allowed = completed_payment(client, db, config, headers)
    assert "Risk</dt><dd><span class=\"badge badge-completed\">allow</span>" in page(
        client, f"/dashboard/payments/{allowed}")
    blocked = client.post("/api/v1/risk/blocklist", headers=headers,
                          json={"type": "vpa", "value": "success@sandbox"})
    assert blocked.status_code == 201, blocked.get_data(as_text=True)
    payment_id = create_payment(client, headers, amount=500, payment_method=UPI)["id"]
    assert process_payment(db, config, payment_id) == "failed risk_blocked"
    detail = page(client, f"/dashboard/payments/{payment_id}")
    assert "badge-failed\">block</span>" in detail and "blocklist:vpa" in detail
    assert "risk_blocked" in detail
