"""``check_integrity``: a provider answer must describe what we asked for."""
from __future__ import annotations

import pytest

from shared.providers.base import Outcome, PaymentRequest, PaymentResult, RefundResult
from shared.providers.integrity import Asked, IntegrityMismatch, check_integrity


def _request(amount=1050, currency="INR") -> PaymentRequest:
    return PaymentRequest(payment_id="pay_1", amount=amount, currency=currency,
                          method={"type": "card"})


def _result(amount=1050, currency="INR", **kw) -> PaymentResult:
    return PaymentResult(outcome=Outcome.SUCCEEDED, amount=amount, currency=currency,
                         response={"id": "obj_1"}, **kw)


def test_matching_answer_passes():
    check_integrity(_request(), _result())
    check_integrity(_request(currency="EUR"), _result(currency="eur"))  # Stripe's lower case
    check_integrity(_request(), _result(amount=None, currency=None))    # nothing to compare


def test_amount_differs():
    with pytest.raises(IntegrityMismatch) as raised:
        check_integrity(_request(), _result(amount=1051), "Razorpay")
    assert (raised.value.code, raised.value.field) == ("provider_amount_mismatch", "amount")
    assert "1051" in raised.value.message and "1050" in raised.value.message
    assert raised.value.message.startswith("Razorpay")
    assert raised.value.response == {"id": "obj_1"}   # kept for transaction_attempts


def test_currency_differs():
    with pytest.raises(IntegrityMismatch) as raised:
        check_integrity(_request(), _result(currency="USD"))
    assert (raised.value.code, raised.value.field) == ("provider_amount_mismatch", "currency")


@pytest.mark.parametrize("amount,currency,reported", [
    (1050, "INR", 10),        # major units (10.50 read as 10) where minor were due
    (1050, "INR", 105000),    # minor units scaled twice
    (500, "JPY", 50000),      # zero-exponent currency reported as if it had two
    (1050, "INR", 1050.5),    # not a whole number of minor units
    (1, "INR", True),         # a JSON true is not an amount
])
def test_exponent_edges_are_mismatches(amount, currency, reported):
    with pytest.raises(IntegrityMismatch):
        check_integrity(_request(amount, currency), _result(reported, currency))


def test_zero_exponent_currency_in_its_own_units_passes():
    check_integrity(_request(500, "JPY"), _result(500, "JPY"))


def test_provider_object_id_differs_only_where_both_sides_carry_it():
    asked = Asked(amount=1050, currency="INR", provider_payment_id="order_A")
    check_integrity(asked, _result(provider_payment_id="order_A"))
    check_integrity(asked, _result(provider_payment_id=None))
    check_integrity(Asked(amount=1050, currency="INR"), _result(provider_payment_id="order_B"))
    with pytest.raises(IntegrityMismatch) as raised:
        check_integrity(asked, _result(provider_payment_id="order_B"))
    assert (raised.value.code, raised.value.field) == ("provider_object_mismatch",
                                                       "provider_payment_id")
    refund = Asked(amount=500, currency="INR", provider_refund_id="rfnd_A")
    with pytest.raises(IntegrityMismatch):
        check_integrity(refund, RefundResult(outcome=Outcome.SUCCEEDED, amount=500,
                                             currency="INR", provider_refund_id="rfnd_B"))


def test_asked_of_reads_requests_and_rows_alike():
    assert Asked.of(_request()) == Asked(amount=1050, currency="INR")
