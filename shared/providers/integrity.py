"""The one integrity check of a provider's answer: does it describe what we asked for?

``check_integrity(request, result)`` compares what the gateway asked for (a
``PaymentRequest`` / ``RefundRequest``, or the stored ``Payment`` / ``Refund`` a status poll,
a webhook or a Checkout verification is about) with what the provider says (a
``PaymentResult`` / ``RefundResult``): the amount in minor units, the currency and, where
both sides carry it, the provider object id. A field the result does not carry (``None``:
PhonePe's pay answer has no amount, a failure event no currency) is not compared.

A disagreement raises ``IntegrityMismatch``. It is never transient (asking again gives the
same answer) and never completes anything: the caller leaves the payment or refund as it is
and flags it for an operator (``shared.payments.review.settle_integrity_mismatch``); see
docs/providers.md, "Amount mismatches".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeVar

from shared.errors import ProviderError

AMOUNT_MISMATCH_CODE = "provider_amount_mismatch"
OBJECT_MISMATCH_CODE = "provider_object_mismatch"


class AskedFor(Protocol):
    """What the gateway asked for: requests and the stored payment/refund rows alike."""
    @property
    def amount(self) -> int: ...
    @property
    def currency(self) -> str: ...


class ProviderAnswer(Protocol):
    @property
    def amount(self) -> int | None: ...
    @property
    def currency(self) -> str | None: ...
    @property
    def request(self) -> dict: ...
    @property
    def response(self) -> dict: ...


class IntegrityMismatch(ProviderError):
    """The provider's answer describes another amount, currency or object than ours.
    ``field`` names the first field that disagreed."""

    def __init__(self, message: str, *, field: str, code: str, request: dict | None = None,
                 response: dict | None = None) -> None:
        super().__init__(message, code=code, request=request, response=response)
        self.field = field


@dataclass(frozen=True)
class Asked:
    """A snapshot of what we asked for, taken inside the transaction that read the payment
    or refund, so the check can run after that transaction (around the provider call)."""
    amount: int
    currency: str
    provider_payment_id: str | None = None
    provider_refund_id: str | None = None

    @classmethod
    def of(cls, obj: AskedFor) -> Asked:
        return cls(amount=obj.amount, currency=obj.currency,
                   provider_payment_id=getattr(obj, "provider_payment_id", None),
                   provider_refund_id=getattr(obj, "provider_refund_id", None))


# The result's own object id, and the attribute of the asked-for side that must equal it.
_OBJECT_IDS = ("provider_payment_id", "provider_refund_id")


def integrity_problem(request: AskedFor, result: ProviderAnswer) -> tuple[str, str] | None:
    """``(field, description)`` of the first disagreement, or None when the answer fits."""
    got = result.amount
    if got is not None and (isinstance(got, bool) or not isinstance(got, int)
                            or got != request.amount):
        return "amount", (f"the provider reported {got!r} {result.currency or ''}".rstrip()
                          + f" in minor units, we asked for {request.amount} "
                            f"{request.currency}")
    if result.currency is not None and str(result.currency).upper() != request.currency.upper():
        return "currency", (f"the provider reported currency {result.currency!r}, we asked "
                            f"for {request.currency}")
    for name in _OBJECT_IDS:
        ours, theirs = getattr(request, name, None), getattr(result, name, None)
        if ours is not None and theirs is not None and ours != theirs:
            return name, f"the provider answered about {theirs!r}, ours is {ours!r}"
    return None


def check_integrity(request: AskedFor, result: ProviderAnswer, provider: str = "provider"
                    ) -> None:
    """Raise ``IntegrityMismatch`` when ``result`` does not describe ``request``."""
    problem = integrity_problem(request, result)
    if problem is None:
        return
    field, description = problem
    code = AMOUNT_MISMATCH_CODE if field in ("amount", "currency") else OBJECT_MISMATCH_CODE
    raise IntegrityMismatch(f"{provider}: {description}.", field=field, code=code,
                            request=result.request, response=result.response)


R = TypeVar("R", bound=ProviderAnswer)


def checked(request: AskedFor, result: R, provider: str) -> R:
    """``result``, once ``check_integrity`` found it describes ``request`` (for a provider
    module's ``return``)."""
    check_integrity(request, result, provider)
    return result
