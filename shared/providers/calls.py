"""Calling a provider: bounded retries with exponential backoff for transient errors, and a
``transaction_attempts`` row for every single call, written at once in its own transaction so
the record survives whatever happens to the task afterwards."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol, TypeVar, cast

from sqlalchemy import Table
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from shared.db import utcnow
from shared.errors import ProviderConfigError, ProviderError, ProviderTransientError
from shared.metrics import PROVIDER_CALLS
from shared.providers import alerts, integrity
from shared.providers.base import Outcome
from shared.providers.integrity import AskedFor, IntegrityMismatch, check_integrity
from shared.providers.models import TransactionAttempt

log = logging.getLogger(__name__)


class ProviderAnswer(integrity.ProviderAnswer, Protocol):
    """What ``call_provider`` records of a provider's answer (PaymentResult, RefundResult):
    what the integrity check reads, and the outcome."""
    @property
    def outcome(self) -> Outcome: ...
    @property
    def failure_code(self) -> str | None: ...


T = TypeVar("T", bound=ProviderAnswer)
_INSERT_ATTEMPT = cast(Table, TransactionAttempt.__table__).insert()


def record_attempt(db, *, merchant_id: str, provider: str, operation: str, outcome: str,
                   payment_id: str | None = None, refund_id: str | None = None,
                   error_code: str | None = None, request: dict | None = None,
                   response: dict | None = None, duration_ms: int = 0) -> None:
    # One autocommitted INSERT (atomic on its own): no session, no BEGIN/COMMIT round trips.
    db.autocommit_execute(_INSERT_ATTEMPT, dict(
        merchant_id=merchant_id, payment_id=payment_id, refund_id=refund_id,
        provider=provider, operation=operation, outcome=outcome, error_code=error_code,
        request=request, response=response, duration_ms=duration_ms, created_at=utcnow()))
    PROVIDER_CALLS.labels(provider, operation, outcome).inc()


def call_provider(db, config, fn: Callable[[], T], *, merchant_id: str, provider: str,
                  operation: str, asked: AskedFor, payment_id: str | None = None,
                  refund_id: str | None = None) -> T:
    """Run ``fn`` (one provider call), retrying transient failures; record every attempt.
    Raises the last ProviderError when retries are exhausted or the error is not transient.
    An answer that does not describe ``asked`` (what the call is about: amount, currency,
    provider object) raises ``IntegrityMismatch``, recorded as an error attempt and never
    retried."""
    def attempt() -> T:
        started = time.perf_counter()
        try:
            result = fn()
            check_integrity(asked, result, provider)
        except ProviderError as exc:
            outcome = "transient_error" if isinstance(exc, ProviderTransientError) else "error"
            record_attempt(db, merchant_id=merchant_id, provider=provider,
                           operation=operation, payment_id=payment_id, refund_id=refund_id,
                           outcome=outcome, error_code=exc.code,
                           request=exc.request, response=exc.response,
                           duration_ms=int((time.perf_counter() - started) * 1000))
            log.warning("%s %s via %s: %s (%s)", operation, payment_id or refund_id, provider,
                        outcome, exc.code)
            raise
        record_attempt(db, merchant_id=merchant_id, provider=provider, operation=operation,
                       payment_id=payment_id, refund_id=refund_id,
                       outcome=result.outcome.value, error_code=result.failure_code,
                       request=result.request, response=result.response,
                       duration_ms=int((time.perf_counter() - started) * 1000))
        return result

    retrying = Retrying(
        retry=retry_if_exception_type(ProviderTransientError),
        stop=stop_after_attempt(max(1, config.provider_max_attempts)),
        wait=wait_exponential_jitter(multiplier=config.provider_retry_base_ms / 1000, max=10),
        reraise=True)
    return retrying(attempt)


# Configuration errors that say nothing about the object: our credentials were refused or
# are missing, or the request could not be sent. Retrying after an operator fixes them can
# succeed, and the provider may already hold the payment or refund.
_OPERATOR_CODES = frozenset({"provider_authentication_failed", "provider_unavailable",
                             "provider_request_invalid"})


def keeps_processing(operation: str, exc: ProviderConfigError) -> bool:
    """Whether a configuration error leaves the object ``processing``: always on a status
    check (the object exists at the provider, so failing it could hide money that moved, and
    a failed refund gives its reservation back), and on a create when the error is about our
    configuration rather than this request."""
    return operation.startswith("fetch") or exc.code in _OPERATOR_CODES


def settle_provider_call(db, config, fn: Callable[[], T], failed: Callable[..., T], *,
                         merchant_id: str, provider: str, operation: str, asked: AskedFor,
                         payment_id: str | None = None, refund_id: str | None = None,
                         on_mismatch: Callable[[IntegrityMismatch], None] | None = None
                         ) -> T | str:
    """``call_provider`` for a worker job: the provider's answer; a FAILED answer built with
    ``failed`` when the provider refuses this request (retrying cannot help); or
    ``"transient"`` / ``"provider_error"`` / ``"provider_configuration"`` when the object
    should stay ``processing`` for the sweeper to ask again later, with the same idempotency
    key. A configuration error also raises an operator alert (``shared.providers.alerts``).
    An answer that fails ``check_integrity`` against ``asked`` is handed to
    ``on_mismatch`` (the caller owns the object and flags it for review:
    ``shared.payments.review``) and gives ``"amount_mismatch"``."""
    try:
        result = call_provider(db, config, fn, merchant_id=merchant_id, provider=provider,
                               operation=operation, payment_id=payment_id,
                               refund_id=refund_id, asked=asked)
    except ProviderTransientError:
        return "transient"
    except ProviderConfigError as exc:
        if keeps_processing(operation, exc):
            alerts.raise_alert(db, provider, operation, exc.code, exc.message,
                               refund_id or payment_id)
            return "provider_configuration"
        return failed(outcome=Outcome.FAILED, failure_code="provider_configuration",
                      failure_message=exc.message[:500])
    except IntegrityMismatch as exc:
        # The same question gets the same answer: flag once instead of polling forever.
        if on_mismatch is not None:
            on_mismatch(exc)
        return "amount_mismatch"
    except ProviderError as exc:
        log.error("%s %s via %s: provider error %s; left processing for reconciliation",
                  operation, refund_id or payment_id, provider, exc.code)
        return "provider_error"
    alerts.clear_after_success(db, provider)
    return result
