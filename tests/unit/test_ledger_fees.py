"""Fees: integer minor units, half up, property-tested against exact decimal arithmetic."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.ledger.fees import Schedule, compute_fee
from shared.ledger.journal import Entry, Line, UnbalancedEntry, check_balanced

amounts = st.integers(min_value=0, max_value=10**12)
schedules = st.builds(Schedule, fee_bps=st.integers(0, 10_000),
                      fee_fixed=st.integers(0, 10**6))


@given(amounts, schedules)
def test_fee_is_bps_of_the_amount_rounded_half_up_plus_fixed_capped_at_the_amount(amount, s):
    exact = (Decimal(amount) * s.fee_bps / Decimal(10_000)).quantize(Decimal(1),
                                                                      rounding=ROUND_HALF_UP)
    fee = compute_fee(amount, s)
    assert isinstance(fee, int)
    assert fee == min(amount, int(exact) + s.fee_fixed)
    assert 0 <= fee <= amount


@given(amounts, amounts, schedules)
def test_fee_never_decreases_with_the_amount(a, b, s):
    low, high = sorted((a, b))
    assert compute_fee(low, s) <= compute_fee(high, s)


@pytest.mark.parametrize("amount,bps,expected", [
    (50, 100, 1),     # 0.5 -> 1 (half up)
    (49, 100, 0),     # 0.49 -> 0
    (150, 100, 2),    # 1.5 -> 2
    (10_050, 290, 291),  # 291.45 -> 291
    (0, 290, 0),
])
def test_fee_rounding_examples(amount, bps, expected):
    assert compute_fee(amount, Schedule(bps, 0)) == expected


def test_negative_amounts_have_no_fee():
    with pytest.raises(ValueError):
        compute_fee(-1, Schedule(100, 0))


@given(st.lists(st.tuples(st.sampled_from(["debit", "credit"]), st.integers(1, 10**12)),
                min_size=0, max_size=6))
def test_code_check_refuses_exactly_the_unbalanced_entries(lines):
    entry = Entry(merchant_id="mer_x", currency="INR", livemode=False, kind="t",
                  source_id="s", lines=[Line("pending", side, amount) for side, amount in lines])
    debits = sum(a for side, a in lines if side == "debit")
    credits = sum(a for side, a in lines if side == "credit")
    if debits == credits and len(lines) >= 2:
        check_balanced(entry)
    else:
        with pytest.raises(UnbalancedEntry):
            check_balanced(entry)
