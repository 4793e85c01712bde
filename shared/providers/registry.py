"""The explicit registry of providers: a name maps to the module that implements it.

Imports are lazy so a deployment that never uses Stripe never imports the Stripe SDK.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from shared.errors import InvalidRequest

if TYPE_CHECKING:
    from shared.config import Config
    from shared.providers.base import Provider

# name -> (module, class)
PROVIDERS: dict[str, tuple[str, str]] = {
    "sandbox": ("shared.providers.sandbox", "SandboxProvider"),
    "stripe": ("shared.providers.stripe_provider", "StripeProvider"),
    "razorpay": ("shared.providers.razorpay_provider", "RazorpayProvider"),
    "phonepe": ("shared.providers.phonepe_provider", "PhonePeProvider"),
    "cashfree": ("shared.providers.cashfree_provider", "CashfreeProvider"),
}

_cache: dict[tuple[str, int, int], "Provider"] = {}


def get_provider(name: str, config: "Config", db=None) -> "Provider":
    """The provider called ``name``, built from ``config`` (and, for the sandbox, the
    database where it keeps its own ledger)."""
    try:
        module_name, class_name = PROVIDERS[name]
    except KeyError:
        raise InvalidRequest(f"Unknown provider {name!r}.", code="provider_unknown",
                             param="provider") from None
    key = (name, id(config), id(db))
    provider = _cache.get(key)
    if provider is None:
        cls = getattr(importlib.import_module(module_name), class_name)
        provider = cls(config, db) if name == "sandbox" else cls(config)
        _cache[key] = provider
    return provider


def provider_availability(config: "Config", db=None) -> dict[str, list[str]]:
    """For each provider, the credentials it is missing (an empty list: available)."""
    return {name: get_provider(name, config, db).missing_credentials() for name in PROVIDERS}


def require_available(name: str, config: "Config", db=None) -> "Provider":
    """The provider, or a clear 400 naming the missing credentials: refused at payment
    creation rather than failing at processing time."""
    provider = get_provider(name, config, db)
    missing = provider.missing_credentials()
    if missing:
        raise InvalidRequest(
            f"Provider {name!r} is not configured on this gateway (missing {', '.join(missing)}).",
            code="provider_unavailable", param="provider")
    return provider
