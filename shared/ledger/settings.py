"""The ledger's configuration as seen from posting hooks.

The hooks run inside status changes whose callers (worker jobs, provider webhooks, the verify
endpoint) do not pass the config down, so the ledger reads the process configuration once,
from ``shared.config`` (still the one place that reads the environment). ``override`` lets a
test or the bench use other values in-process.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class LedgerSettings:
    fee_bps: int
    fee_fixed: int
    settlement_delay_s: int
    payout_schedule: str


_override: list[LedgerSettings] = []


@cache
def _from_env() -> LedgerSettings:
    from shared.config import Config
    return from_config(Config.from_env())


def from_config(config) -> LedgerSettings:
    return LedgerSettings(config.fee_bps, config.fee_fixed, config.settlement_delay_s,
                          config.payout_schedule)


def current() -> LedgerSettings:
    return _override[-1] if _override else _from_env()


class override:
    """``with settings.override(settings.from_config(cfg)): ...``"""

    def __init__(self, value: LedgerSettings) -> None:
        self.value = value

    def __enter__(self) -> LedgerSettings:
        _override.append(self.value)
        return self.value

    def __exit__(self, *exc) -> None:
        _override.remove(self.value)
