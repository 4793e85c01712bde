"""Payout and balance-transaction statuses (plain strings, as stored and as served)."""
from __future__ import annotations

from typing import Final


class PayoutStatus:
    PENDING: Final = "pending"
    PAID: Final = "paid"
    FAILED: Final = "failed"


class BalanceTransactionStatus:
    PENDING: Final = "pending"
    AVAILABLE: Final = "available"


PAYOUT_STATUSES = (PayoutStatus.PENDING, PayoutStatus.PAID, PayoutStatus.FAILED)
BALANCE_TRANSACTION_STATUSES = (BalanceTransactionStatus.PENDING,
                                BalanceTransactionStatus.AVAILABLE)
# Forward only, like the payment table: a paid or failed payout never changes again.
PAYOUT_TRANSITIONS: dict[str, frozenset[str]] = {
    PayoutStatus.PENDING: frozenset({PayoutStatus.PAID, PayoutStatus.FAILED}),
    PayoutStatus.PAID: frozenset(),
    PayoutStatus.FAILED: frozenset(),
}
