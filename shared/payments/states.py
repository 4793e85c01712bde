"""The payment, refund and provider-event statuses, and the payment and refund status
machines of the contract.

``pending -> processing -> completed -> partially_refunded -> refunded``, with
``pending -> canceled``, ``processing -> failed`` and ``completed -> refunded``. A status
never moves backwards: every change is a compare-and-set against this table, under a row
lock, whatever order worker tasks and provider webhooks arrive in.

The statuses are plain strings (the database column and the JSON hold them as they are);
the classes only name them, so a typo is an AttributeError instead of a silent mismatch.
"""
from __future__ import annotations

from typing import Final


class PaymentStatus:
    PENDING: Final = "pending"
    PROCESSING: Final = "processing"
    COMPLETED: Final = "completed"
    PARTIALLY_REFUNDED: Final = "partially_refunded"
    REFUNDED: Final = "refunded"
    FAILED: Final = "failed"
    CANCELED: Final = "canceled"


class RefundStatus:
    PENDING: Final = "pending"
    PROCESSING: Final = "processing"
    COMPLETED: Final = "completed"
    FAILED: Final = "failed"


class ProviderEventStatus:
    """An inbound provider webhook (``provider_events.status``)."""
    RECEIVED: Final = "received"
    PROCESSED: Final = "processed"
    IGNORED: Final = "ignored"
    # Bound to none of our provider objects.
    MISMATCH: Final = "mismatch"


_P = PaymentStatus
PAYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    _P.PENDING: frozenset({_P.PROCESSING, _P.CANCELED}),
    _P.PROCESSING: frozenset({_P.COMPLETED, _P.FAILED}),
    _P.COMPLETED: frozenset({_P.PARTIALLY_REFUNDED, _P.REFUNDED}),
    _P.PARTIALLY_REFUNDED: frozenset({_P.PARTIALLY_REFUNDED, _P.REFUNDED}),
    _P.REFUNDED: frozenset(),
    _P.FAILED: frozenset(),
    _P.CANCELED: frozenset(),
}
PAYMENT_STATUSES = tuple(PAYMENT_TRANSITIONS)
PAYMENT_FINAL = frozenset({_P.FAILED, _P.CANCELED, _P.REFUNDED})
REFUNDABLE = frozenset({_P.COMPLETED, _P.PARTIALLY_REFUNDED})
# The payment's money was captured (whatever has been refunded since): "succeeded" in
# reports and the dashboard, "paid" for a checkout session.
CAPTURED = (_P.COMPLETED, _P.PARTIALLY_REFUNDED, _P.REFUNDED)

_R = RefundStatus
REFUND_TRANSITIONS: dict[str, frozenset[str]] = {
    _R.PENDING: frozenset({_R.PROCESSING}),
    _R.PROCESSING: frozenset({_R.COMPLETED, _R.FAILED}),
    _R.COMPLETED: frozenset(),
    _R.FAILED: frozenset(),
}
REFUND_STATUSES = tuple(REFUND_TRANSITIONS)

PROVIDER_EVENT_STATUSES = (ProviderEventStatus.RECEIVED, ProviderEventStatus.PROCESSED,
                           ProviderEventStatus.IGNORED, ProviderEventStatus.MISMATCH)


def payment_can_move(current: str, new: str) -> bool:
    return new in PAYMENT_TRANSITIONS[current]


def refund_can_move(current: str, new: str) -> bool:
    return new in REFUND_TRANSITIONS[current]
