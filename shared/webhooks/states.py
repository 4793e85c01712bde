"""Webhook endpoint and delivery-log statuses (plain strings, as stored and as served)."""
from __future__ import annotations

from typing import Final


class EndpointStatus:
    ENABLED: Final = "enabled"
    DISABLED: Final = "disabled"
    # Soft delete: the row stays so its delivery logs keep their foreign key; the API never
    # shows it and a merchant cannot set it with PATCH.
    DELETED: Final = "deleted"


class DeliveryStatus:
    """A webhook delivery log (``webhook_logs.status``)."""
    PENDING: Final = "pending"
    SUCCEEDED: Final = "succeeded"
    FAILED: Final = "failed"
    RETRYING: Final = "retrying"
    DEAD: Final = "dead"


ENDPOINT_STATUSES = (EndpointStatus.ENABLED, EndpointStatus.DISABLED, EndpointStatus.DELETED)
# What the API shows and accepts: deleted endpoints are gone from its point of view.
SETTABLE_ENDPOINT_STATUSES = (EndpointStatus.ENABLED, EndpointStatus.DISABLED)
LOG_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED,
                DeliveryStatus.RETRYING, DeliveryStatus.DEAD)
