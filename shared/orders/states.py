"""The order statuses (an order sits below payments: payments import it, never back)."""
from __future__ import annotations

from typing import Final


class OrderStatus:
    CREATED: Final = "created"
    ATTEMPTED: Final = "attempted"
    PAID: Final = "paid"


ORDER_STATUSES = (OrderStatus.CREATED, OrderStatus.ATTEMPTED, OrderStatus.PAID)
