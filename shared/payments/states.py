"""The payment and refund status machines of the contract.

``pending -> processing -> completed -> partially_refunded -> refunded``, with
``pending -> canceled``, ``processing -> failed`` and ``completed -> refunded``. A status
never moves backwards: every change is a compare-and-set against this table, under a row
lock, whatever order worker tasks and provider webhooks arrive in.
"""
from __future__ import annotations

PAYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"processing", "canceled"}),
    "processing": frozenset({"completed", "failed"}),
    "completed": frozenset({"partially_refunded", "refunded"}),
    "partially_refunded": frozenset({"partially_refunded", "refunded"}),
    "refunded": frozenset(),
    "failed": frozenset(),
    "canceled": frozenset(),
}
PAYMENT_STATUSES = tuple(PAYMENT_TRANSITIONS)
PAYMENT_FINAL = frozenset({"failed", "canceled", "refunded"})
REFUNDABLE = frozenset({"completed", "partially_refunded"})

REFUND_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"processing"}),
    "processing": frozenset({"completed", "failed"}),
    "completed": frozenset(),
    "failed": frozenset(),
}
REFUND_STATUSES = tuple(REFUND_TRANSITIONS)

ORDER_STATUSES = ("created", "attempted", "paid")


def payment_can_move(current: str, new: str) -> bool:
    return new in PAYMENT_TRANSITIONS[current]


def refund_can_move(current: str, new: str) -> bool:
    return new in REFUND_TRANSITIONS[current]
