"""Idempotency-Key statuses (``idempotency_keys.status``)."""
from __future__ import annotations

from typing import Final


class KeyStatus:
    # Claimed by a request that has not answered yet (until ``locked_until``).
    IN_FLIGHT: Final = "in_flight"
    # The answer is stored with the key and replayed.
    DONE: Final = "done"
