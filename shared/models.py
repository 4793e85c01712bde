"""Every table, imported in one place so Alembic and the tests see the whole metadata."""
from shared.audit.models import AuditLog
from shared.checkout.models import CheckoutSession
from shared.db import Base
from shared.idempotency.models import IdempotencyKey
from shared.ledger.models import (
    BalanceDelta,
    BalanceTransaction,
    DailyTotal,
    FeeSchedule,
    JournalEntry,
    JournalLine,
    LedgerAccount,
    PaymentDailySummary,
    PaymentSummaryDay,
    Payout,
    RollupState,
    SandboxBankTransfer,
)
from shared.maintenance_backoff import SweepBackoff
from shared.merchants.models import ApiKey, Merchant
from shared.notifications.models import Notification, NotificationSettings
from shared.orders.models import Order
from shared.outbox import OutboxMessage
from shared.payments.models import Payment
from shared.provider_events.models import ProviderEvent
from shared.providers.alerts import ProviderAlert
from shared.providers.models import SandboxCharge, TransactionAttempt
from shared.refunds.models import Refund
from shared.risk.models import BlocklistEntry, RiskSettings, VelocityHit
from shared.users.models import LoginFailure, RefreshToken, User
from shared.webhooks.models import Event, WebhookEndpoint, WebhookLog

__all__ = [
    "AuditLog", "ApiKey", "Base", "CheckoutSession", "Event", "IdempotencyKey", "Merchant",
    "Order", "OutboxMessage", "Payment", "ProviderAlert", "ProviderEvent", "Refund",
    "SandboxCharge", "TransactionAttempt", "WebhookEndpoint", "WebhookLog", "User",
    "RefreshToken", "LoginFailure", "BlocklistEntry", "RiskSettings", "VelocityHit",
    "Notification", "NotificationSettings", "BalanceTransaction", "DailyTotal", "FeeSchedule",
    "JournalEntry", "JournalLine", "LedgerAccount", "BalanceDelta", "PaymentDailySummary",
    "PaymentSummaryDay", "Payout", "RollupState", "SandboxBankTransfer", "SweepBackoff",
]
