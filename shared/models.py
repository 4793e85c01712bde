"""Every table, imported in one place so Alembic and the tests see the whole metadata."""
from shared.audit.models import AuditLog
from shared.db import Base
from shared.events.models import Event
from shared.idempotency.models import IdempotencyKey
from shared.ledger.models import (
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
from shared.merchants.models import ApiKey, Merchant
from shared.orders.models import Order
from shared.outbox import OutboxMessage
from shared.payments.models import Payment, ProviderEvent, SandboxCharge, TransactionAttempt
from shared.refunds.models import Refund
from shared.webhooks.models import WebhookEndpoint, WebhookLog

__all__ = [
    "AuditLog", "ApiKey", "Base", "Event", "IdempotencyKey", "Merchant", "Order",
    "OutboxMessage", "Payment", "ProviderEvent", "Refund", "SandboxCharge",
    "TransactionAttempt", "WebhookEndpoint", "WebhookLog",
    "BalanceTransaction", "DailyTotal", "FeeSchedule", "JournalEntry", "JournalLine",
    "LedgerAccount", "PaymentDailySummary", "PaymentSummaryDay", "Payout", "RollupState",
    "SandboxBankTransfer",
]
