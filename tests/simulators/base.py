"""What every provider simulator shares: fault injection, counters and a background server.

Faults are queued and consumed by the next provider API request:
  * ``fail_next(status, times)``: answer ``status`` without doing the work (a 5xx or 429).
  * ``timeout_next(seconds)``: do the work, then stall the response longer than the client
    waits. The charge is made but the client never hears of it: the case idempotency keys
    exist for.
Declines, refund failures and amount misreports are queued per simulator for the next
payment attempt / refund / response carrying an amount.
"""
from __future__ import annotations

import secrets
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass

from flask import Flask, Response, g

from tests.simulators.server import BackgroundServer


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery as the provider would send it."""
    headers: dict
    body: bytes
    event_id: str


class SimulatorBase:
    name = "simulator"

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._faults: deque[tuple[str, float]] = deque()
        self._declines: deque[str] = deque()
        self._refund_declines: deque[str] = deque()
        self._misreports: set[str] = set()
        self._charges: Counter[str] = Counter()
        self._refunds: Counter[str] = Counter()
        self.requests_seen = 0
        self.app = Flask(f"{self.name}_simulator")
        self.app.before_request(self._before)
        self.app.after_request(self._after)
        self.routes(self.app)
        self._server: BackgroundServer | None = None

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> SimulatorBase:
        self._server = BackgroundServer(self.app).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None, "simulator not started"
        return self._server.url

    def routes(self, app: Flask) -> None:
        raise TypeError(f"{type(self).__name__} must define its routes")

    def error_response(self, status: int) -> Response:
        """The provider's error shape for an injected server failure."""
        raise TypeError(f"{type(self).__name__} must define its error shape")

    # --- controls --------------------------------------------------------------------------

    def fail_next(self, status: int = 500, times: int = 1) -> None:
        with self.lock:
            self._faults.extend([("status", status)] * times)

    def timeout_next(self, seconds: float) -> None:
        with self.lock:
            self._faults.append(("stall", seconds))

    def decline_next(self, code: str) -> None:
        """The next payment attempt (card confirmation or customer checkout) is declined."""
        with self.lock:
            self._declines.append(code)

    def decline_refund_next(self, code: str) -> None:
        with self.lock:
            self._refund_declines.append(code)

    def misreport_amount_next(self, kind: str = "payment") -> None:
        """The next ``kind`` ("payment" or "refund") response reports one minor unit more."""
        with self.lock:
            self._misreports.add(kind)

    def charges_made(self, payment_id: str) -> int:
        with self.lock:
            return self._charges[payment_id]

    def refunds_made(self, refund_id: str) -> int:
        with self.lock:
            return self._refunds[refund_id]

    # --- helpers for subclasses ------------------------------------------------------------

    def take_decline(self) -> str | None:
        with self.lock:
            return self._declines.popleft() if self._declines else None

    def take_refund_decline(self) -> str | None:
        with self.lock:
            return self._refund_declines.popleft() if self._refund_declines else None

    def reported_amount(self, kind: str, amount: int) -> int:
        with self.lock:
            if kind in self._misreports:
                self._misreports.discard(kind)
                return amount + 1
            return amount

    def record_charge(self, payment_id: str) -> None:
        with self.lock:
            self._charges[payment_id] += 1

    def record_refund(self, refund_id: str) -> None:
        with self.lock:
            self._refunds[refund_id] += 1

    @staticmethod
    def new_id(prefix: str, length: int = 14) -> str:
        return prefix + secrets.token_hex(length // 2 + 1)[:length]

    def _before(self):
        with self.lock:
            self.requests_seen += 1
            fault = self._faults.popleft() if self._faults else None
        if fault is None:
            return None
        kind, value = fault
        if kind == "status":
            return self.error_response(int(value))
        g.stall_s = value
        return None

    def _after(self, response: Response) -> Response:
        stall = g.pop("stall_s", None)
        if stall:
            time.sleep(stall)
        return response

