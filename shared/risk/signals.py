"""What a payment is identified by for risk rules, normalised the same way for the blocklist
and for velocity: emails and VPAs lower-cased, IPs in their canonical form."""
from __future__ import annotations

import ipaddress


def normalise(kind: str, value: str) -> str:
    value = value.strip()
    if kind in ("email", "vpa"):
        return value.lower()
    if kind == "ip":
        return str(ipaddress.ip_address(value))
    return value


def payment_signals(payment) -> dict[str, str]:
    """``{kind: normalised value}`` for every signal this payment carries."""
    method = payment.payment_method or {}
    customer = payment.customer or {}
    raw = {"card_token": method.get("token") if method.get("type") == "card" else None,
           "vpa": method.get("vpa") if method.get("type") == "upi" else None,
           "email": customer.get("email"), "ip": customer.get("ip")}
    signals = {}
    for kind, value in raw.items():
        if isinstance(value, str) and value.strip():
            try:
                signals[kind] = normalise(kind, value)
            except ValueError:
                continue  # an IP stored before validation existed: not a signal
    return signals
