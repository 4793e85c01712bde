"""Each status set has one home (a ``states`` module per domain) with today's exact values."""
from __future__ import annotations

import pytest

from shared.checkout.states import CHECKOUT_STATUSES, CheckoutSessionStatus
from shared.idempotency.states import KeyStatus
from shared.ledger.states import (
    BALANCE_TRANSACTION_STATUSES,
    PAYOUT_STATUSES,
    PAYOUT_TRANSITIONS,
    BalanceTransactionStatus,
    PayoutStatus,
)
from shared.notifications.states import NOTIFICATION_STATUSES, NotificationStatus
from shared.orders.states import ORDER_STATUSES, OrderStatus
from shared.payments.states import (
    PAYMENT_STATUSES,
    PROVIDER_EVENT_STATUSES,
    REFUND_STATUSES,
    PaymentStatus,
    ProviderEventStatus,
    RefundStatus,
)
from shared.users.states import USER_STATUSES, UserStatus
from shared.webhooks.states import (
    ENDPOINT_STATUSES,
    LOG_STATUSES,
    SETTABLE_ENDPOINT_STATUSES,
    DeliveryStatus,
    EndpointStatus,
)


def values(names) -> set[str]:
    return {value for key, value in vars(names).items() if key.isupper()}


@pytest.mark.parametrize(("names", "statuses", "expected"), [
    (PaymentStatus, PAYMENT_STATUSES, {"pending", "processing", "completed",
                                       "partially_refunded", "refunded", "failed", "canceled"}),
    (RefundStatus, REFUND_STATUSES, {"pending", "processing", "completed", "failed"}),
    (OrderStatus, ORDER_STATUSES, {"created", "attempted", "paid"}),
    (ProviderEventStatus, PROVIDER_EVENT_STATUSES, {"received", "processed", "ignored",
                                                    "mismatch"}),
    (EndpointStatus, ENDPOINT_STATUSES, {"enabled", "disabled", "deleted"}),
    (DeliveryStatus, LOG_STATUSES, {"pending", "succeeded", "failed", "retrying", "dead"}),
    (PayoutStatus, PAYOUT_STATUSES, {"pending", "paid", "failed"}),
    (BalanceTransactionStatus, BALANCE_TRANSACTION_STATUSES, {"pending", "available"}),
    (CheckoutSessionStatus, CHECKOUT_STATUSES, {"open", "complete", "expired"}),
    (NotificationStatus, NOTIFICATION_STATUSES, {"pending", "sending", "sent", "failed"}),
    (UserStatus, USER_STATUSES, {"active", "disabled"}),
    (KeyStatus, ("in_flight", "done"), {"in_flight", "done"}),
], ids=lambda v: getattr(v, "__name__", None))
def test_status_set_names_every_value_once(names, statuses, expected):
    assert values(names) == set(statuses) == expected
    assert len(statuses) == len(expected)
    assert all(type(status) is str for status in statuses)  # stored and served as they are


def test_the_api_never_offers_the_deleted_endpoint_status():
    assert EndpointStatus.DELETED not in SETTABLE_ENDPOINT_STATUSES
    assert set(SETTABLE_ENDPOINT_STATUSES) < set(ENDPOINT_STATUSES)


def test_payouts_only_move_forward():
    assert set(PAYOUT_TRANSITIONS) == set(PAYOUT_STATUSES)
    assert PAYOUT_TRANSITIONS[PayoutStatus.PENDING] == {PayoutStatus.PAID, PayoutStatus.FAILED}
    assert not PAYOUT_TRANSITIONS[PayoutStatus.PAID] | PAYOUT_TRANSITIONS[PayoutStatus.FAILED]
