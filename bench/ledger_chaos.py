"""The ledger part of ``make chaos``: after every fault, every journal entry still balances and
the SPEC invariant holds for every merchant and currency (``shared.reporting.check``)."""
from __future__ import annotations


def ledger_problems(stack) -> list[str]:
    from shared.reporting.check import check
    return check(stack.db)
