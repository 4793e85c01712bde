"""The text of every notification. Contexts are built by ``service`` from plain fields only
(amounts, ids, names, the kind of payment method): never a token, a VPA, a card number, a
key or a signing secret. ``str.format`` does not re-interpret braces inside values."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    subject: str
    email: str
    sms: str


TEMPLATES: dict[str, Template] = {
    "payment.receipt": Template(
        subject="Your receipt from {merchant_name}",
        email=("Thank you for your payment to {merchant_name}.\n\n"
               "Amount: {amount} {currency}\n"
               "Paid by: {method}\n"
               "Payment: {payment_id}\n"
               "Date: {date}\n"
               "{description_line}\n"
               "Keep this email as your receipt.\n"),
        sms="{merchant_name}: payment of {amount} {currency} received ({payment_id}). "
            "Thank you."),
    "refund.receipt": Template(
        subject="Your refund from {merchant_name}",
        email=("{merchant_name} has refunded {amount} {currency} to you.\n\n"
               "Refund: {refund_id}\n"
               "For payment: {payment_id}\n"
               "Date: {date}\n\n"
               "Depending on your bank it can take a few days to appear.\n"),
        sms="{merchant_name}: refund of {amount} {currency} issued ({refund_id})."),
    "webhook_endpoint.disabled": Template(
        subject="Webhook endpoint {endpoint_id} was disabled",
        email=("Your webhook endpoint {endpoint_id} on {host} was disabled and receives no "
               "more events.\n\nReason: {reason}\n\n"
               "Fix the receiver, then enable the endpoint again with "
               "PATCH /api/v1/webhook_endpoints/{endpoint_id} {{\"status\": \"enabled\"}}.\n"),
        sms="Gateway alert: webhook endpoint {endpoint_id} was disabled ({reason})."),
    "payout.paid": Template(
        subject="Payout {payout_id} of {amount} {currency} was paid",
        email=("Your payout {payout_id} of {amount} {currency} was paid.\n\n"
               "Date: {date}\n"),
        sms="Gateway: payout {payout_id} of {amount} {currency} paid."),
    "payout.failed": Template(
        subject="Payout {payout_id} of {amount} {currency} failed",
        email=("Your payout {payout_id} of {amount} {currency} failed.\n\n"
               "Reason: {reason}\n"
               "Date: {date}\n\n"
               "The amount stays in your balance.\n"),
        sms="Gateway alert: payout {payout_id} of {amount} {currency} failed ({reason})."),
}

CUSTOMER_KINDS = frozenset({"payment.receipt", "refund.receipt"})
MERCHANT_KINDS = frozenset({"webhook_endpoint.disabled", "payout.paid", "payout.failed"})


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return "-"


def render(kind: str, channel: str, context: dict) -> tuple[str | None, str]:
    """(subject, body) for one channel. Unknown keys render as '-', never raise."""
    template = TEMPLATES[kind]
    values = _Missing({k: str(v) for k, v in context.items() if v is not None})
    if channel == "sms":
        return None, template.sms.format_map(values)
    return template.subject.format_map(values), template.email.format_map(values)
