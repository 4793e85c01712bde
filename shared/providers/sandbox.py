"""The sandbox provider: no network, no credentials, outcomes chosen by the payment method
like a real provider's test cards (SPEC "The sandbox provider").

It keeps its own ledger (``sandbox_ledger``) in the database, written in its own transaction
as an external provider would, keyed by the idempotency key it is called with (our payment or
refund id). A repeated call returns the first answer; ``calls`` counts how often it was asked,
so tests can show a job ran several times and the money still moved once.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Row, Table, select

from shared.db import per_dialect, utcnow
from shared.errors import ProviderTransientError, WebhookVerificationError
from shared.providers.base import (
    InboundEvent,
    Outcome,
    PaymentRequest,
    PaymentResult,
    RefundRequest,
    RefundResult,
)
from shared.providers.models import SandboxCharge

CARD_OUTCOMES = {
    "tok_success": (Outcome.SUCCEEDED, None, None),
    "tok_decline": (Outcome.FAILED, "card_declined", "The card was declined."),
    "tok_insufficient_funds": (Outcome.FAILED, "insufficient_funds",
                               "The card has insufficient funds."),
    "tok_timeout": (Outcome.SUCCEEDED, None, None),   # charged, but the first answer is lost
    "tok_refund_fail": (Outcome.SUCCEEDED, None, None),
}
UPI_OUTCOMES = {
    "success@sandbox": (Outcome.SUCCEEDED, None, None),
    "failure@sandbox": (Outcome.FAILED, "upi_declined", "The UPI payment was declined."),
}


def _instrument(method: Mapping) -> str:
    return str(method.get("token") or method.get("vpa") or method.get("type") or "")


def _upsert(insert):
    table = cast(Table, SandboxCharge.__table__)
    return (insert(table).on_conflict_do_update(index_elements=["kind", "reference"],
                                                set_={"calls": table.c.calls + 1})
            .returning(*table.c))


# A ledger row as ``_find`` loads it or as the upsert returns it: the same columns.
Charge = SandboxCharge | Row[Any]
# A repeated call with the same key counts and returns the first answer (calls > 1).
_RECORD = per_dialect(_upsert)


class SandboxProvider:
    name = "sandbox"

    def __init__(self, config, db) -> None:
        self.config = config
        self.db = db

    def missing_credentials(self) -> list[str]:
        return []

    def _latency(self) -> None:
        if self.config.sandbox_latency_ms > 0:
            time.sleep(self.config.sandbox_latency_ms / 1000)

    def _record(self, kind: str, reference: str, amount: int, currency: str, outcome: Outcome,
                instrument: str | None) -> tuple[Charge, bool]:
        """Insert the ledger row once; later calls only count. Returns (row, first call?).
        One autocommitted upsert, as a provider records a charge on its side."""
        statement = _RECORD[self.db.engine.dialect.name]
        row, = self.db.autocommit_execute(statement, dict(
            kind=kind, reference=reference, amount=amount, currency=currency,
            outcome=outcome.value, instrument=instrument, calls=1, created_at=utcnow()))
        return row, row.calls == 1

    def _find(self, kind: str, reference: str) -> SandboxCharge | None:
        with self.db.transaction() as session:
            return session.scalars(select(SandboxCharge).where(
                SandboxCharge.kind == kind, SandboxCharge.reference == reference)).first()

    @staticmethod
    def _payment_result(row: Charge, code: str | None, message: str | None
                        ) -> PaymentResult:
        outcome = Outcome(row.outcome)
        return PaymentResult(
            outcome=outcome, provider_payment_id=f"sbx_{row.reference}", amount=row.amount,
            currency=row.currency,
            failure_code=code if outcome is Outcome.FAILED else None,
            failure_message=message if outcome is Outcome.FAILED else None,
            request={"payment": row.reference, "instrument": row.instrument},
            response={"outcome": row.outcome, "calls": row.calls})

    def create_payment(self, request: PaymentRequest) -> PaymentResult:
        self._latency()
        method = request.method
        instrument = _instrument(method)
        if method.get("type") == "card":
            outcome, code, message = CARD_OUTCOMES.get(instrument,
                                                       (Outcome.SUCCEEDED, None, None))
        elif method.get("type") == "upi":
            outcome, code, message = UPI_OUTCOMES.get(instrument,
                                                      (Outcome.SUCCEEDED, None, None))
        else:
            outcome, code, message = Outcome.SUCCEEDED, None, None
        row, first = self._record("charge", request.payment_id, request.amount,
                                  request.currency, outcome, instrument)
        if instrument == "tok_timeout" and first:
            # The charge went through but the answer never reached us.
            raise ProviderTransientError("sandbox: the provider did not answer in time",
                                         code="timeout", request={"payment": request.payment_id})
        return self._payment_result(row, code, message)

    def fetch_payment(self, payment_id: str, provider_payment_id: str | None) -> PaymentResult:
        self._latency()
        row = self._find("charge", payment_id)
        if row is None:
            return PaymentResult(outcome=Outcome.PROCESSING, request={"payment": payment_id},
                                 response={"found": False})
        code = "card_declined" if row.outcome == "failed" else None
        return self._payment_result(row, code, None)

    def refund(self, request: RefundRequest) -> RefundResult:
        self._latency()
        charge = self._find("charge", request.payment_id)
        fails = charge is not None and charge.instrument == "tok_refund_fail"
        outcome = Outcome.FAILED if fails else Outcome.SUCCEEDED
        row, _ = self._record("refund", request.refund_id, request.amount, request.currency,
                              outcome, charge.instrument if charge else "")
        return self._refund_result(row)

    def fetch_refund(self, refund_id: str, provider_refund_id: str | None,
                     provider_payment_id: str | None) -> RefundResult:
        self._latency()
        row = self._find("refund", refund_id)
        if row is None:
            return RefundResult(outcome=Outcome.PROCESSING, response={"found": False})
        return self._refund_result(row)

    @staticmethod
    def _refund_result(row: Charge) -> RefundResult:
        outcome = Outcome(row.outcome)
        failed = outcome is Outcome.FAILED
        return RefundResult(
            outcome=outcome, provider_refund_id=f"sbx_{row.reference}", amount=row.amount,
            currency=row.currency, failure_code="refund_declined" if failed else None,
            failure_message="The sandbox declined this refund." if failed else None,
            request={"refund": row.reference}, response={"outcome": row.outcome,
                                                         "calls": row.calls})

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> InboundEvent:
        raise WebhookVerificationError("the sandbox sends no webhooks", code="not_supported")

    def read_verified_webhook(self, provider_event_id: str, payload: str) -> InboundEvent:
        raise WebhookVerificationError("the sandbox sends no webhooks", code="not_supported")
