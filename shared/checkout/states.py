"""Checkout session statuses. Not stored: ``checkout.service.session_status`` derives them
from the session's current payment and its expiry."""
from __future__ import annotations

from typing import Final


class CheckoutSessionStatus:
    OPEN: Final = "open"
    COMPLETE: Final = "complete"
    EXPIRED: Final = "expired"


CHECKOUT_STATUSES = (CheckoutSessionStatus.OPEN, CheckoutSessionStatus.COMPLETE,
                     CheckoutSessionStatus.EXPIRED)
