"""``evaluate(session, config, payment)``: the risk decision for one payment, taken once, in
the worker's claim transaction (payment row locked) and before any provider call.

Rules, each of which blocks the payment when it matches:
- ``blocklist:<type>``: the payment's email, VPA, card token or IP is on the merchant's list;
- ``amount_limit``: the amount is over the merchant's limit for its currency;
- ``velocity:<kind>``: more than ``RISK_VELOCITY`` payments with the same card token, email,
  VPA or IP within ``RISK_VELOCITY_WINDOW_S`` (exactly N passes, N + 1 is blocked).

The decision is stored on the payment as ``risk: {"decision", "rules"}``; a payment evaluated
once is never evaluated again (a redelivered job reads the stored decision).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import JSON, Table, and_, bindparam, literal, null, or_, select, type_coerce
from sqlalchemy.orm import Session

from shared.db import execute_in
from shared.risk import velocity
from shared.risk.models import BLOCKLIST_TYPES, BlocklistEntry, RiskSettings
from shared.risk.signals import payment_signals

BLOCKED_CODE = "risk_blocked"
BLOCKED_MESSAGE = "The payment was blocked by the merchant's risk rules."


@dataclass(frozen=True)
class RiskDecision:
    decision: str            # allow | block
    rules: tuple[str, ...]

    @property
    def blocked(self) -> bool:
        return self.decision == "block"

    def as_json(self) -> dict:
        return {"decision": self.decision, "rules": list(self.rules)}


def evaluate(session: Session, config, payment) -> RiskDecision:
    """Decide (or re-read the decision) for a locked payment. A blocked payment gets its
    ``failure_code``; the caller moves it to ``failed`` and does not call the provider."""
    stored = payment.risk
    if stored:
        return RiskDecision(stored.get("decision", "allow"), tuple(stored.get("rules", ())))
    rules: list[str] = []
    if payment.provider_payment_id is None:
        # A payment the provider already holds (created before risk rules existed, or a
        # checkout in progress) is past the point where blocking it could help.
        signals = payment_signals(payment)
        blocked_kinds, limits = _merchant_rules(session, payment.merchant_id, signals)
        rules += [f"blocklist:{kind}" for kind in blocked_kinds]
        limit = (limits or {}).get(payment.currency)
        if isinstance(limit, int) and payment.amount > limit:
            rules.append("amount_limit")
        if config.risk_velocity > 0:  # 0 turns velocity off (and its counting)
            counts = velocity.count_and_record(session, payment.merchant_id, payment.id,
                                               signals, config.risk_velocity_window_s)
            rules += [f"velocity:{kind}" for kind, count in sorted(counts.items())
                      if count > config.risk_velocity]
    decision = RiskDecision("block" if rules else "allow", tuple(rules))
    payment.risk = decision.as_json()
    if decision.blocked:
        payment.failure_code = BLOCKED_CODE
        payment.failure_message = BLOCKED_MESSAGE
    return decision


_BLOCKLIST = cast(Table, BlocklistEntry.__table__)
_SETTINGS = cast(Table, RiskSettings.__table__)
# One statement, built once: the merchant's amount limits (a row tagged "" whose second
# column is the JSON), then the blocklist kinds that match the payment's signals, one shape for
# every combination of signals (a kind the payment does not carry is bound to NULL, which
# matches nothing).
_MERCHANT_RULES = select(literal("").label("kind"), _SETTINGS.c.amount_limits).where(
    _SETTINGS.c.merchant_id == bindparam("merchant_id")
).union_all(select(_BLOCKLIST.c.type, type_coerce(null(), JSON)).where(
    _BLOCKLIST.c.merchant_id == bindparam("merchant_id"),
    or_(*[and_(_BLOCKLIST.c.type == kind, _BLOCKLIST.c.value == bindparam(kind))
          for kind in BLOCKLIST_TYPES])))


def _merchant_rules(session: Session, merchant_id: str,
                    signals: dict[str, str]) -> tuple[list[str], dict | None]:
    """(the blocklisted kinds of the payment's signals, sorted; the merchant's amount limits)."""
    rows = execute_in(session, _MERCHANT_RULES, {
        "merchant_id": merchant_id, **{kind: signals.get(kind) for kind in BLOCKLIST_TYPES}})
    limits = next((value for kind, value in rows if kind == ""), None)
    return sorted({kind for kind, _ in rows if kind}), limits
