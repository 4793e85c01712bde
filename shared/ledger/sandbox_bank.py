"""The sandbox bank that receives test-mode payouts, chosen by the payout's ``destination``
like a real bank's test accounts: ``bank_account_closed`` fails with ``account_closed``,
``bank_account_invalid`` with ``invalid_account_number``; anything else is paid. It keeps its
own record, one row per payout however often it is asked, so tests can prove nothing was paid
twice."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from shared.ledger import accounts as chart
from shared.ledger.models import SandboxBankTransfer

FAILING_DESTINATIONS = {
    "bank_account_closed": ("account_closed", "The bank account has been closed."),
    "bank_account_invalid": ("invalid_account_number", "The bank account number is invalid."),
}


@dataclass(frozen=True)
class TransferResult:
    paid: bool
    failure_code: str | None = None
    failure_message: str | None = None


def transfer(session: Session, payout) -> TransferResult:
    failure = FAILING_DESTINATIONS.get(payout.destination)
    outcome = "failed" if failure else "paid"
    insert = chart.dialect_insert(session)
    stmt = insert(SandboxBankTransfer).values(payout_id=payout.id, amount=payout.amount,
                                              currency=payout.currency, outcome=outcome,
                                              calls=1)
    session.execute(stmt.on_conflict_do_update(
        index_elements=["payout_id"], set_={"calls": SandboxBankTransfer.calls + 1}))
    if failure:
        return TransferResult(False, *failure)
    return TransferResult(True)
