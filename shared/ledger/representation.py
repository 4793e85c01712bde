"""The API representation of ledger objects (also the payload of payout events)."""
from __future__ import annotations

from shared.representation import iso


def payout_object(p) -> dict:
    return {"id": p.id, "object": "payout", "amount": p.amount, "currency": p.currency,
            "status": p.status, "method": p.method, "destination": p.destination,
            "livemode": bool(p.livemode), "failure_code": p.failure_code,
            "failure_message": p.failure_message, "metadata": p.metadata_ or {},
            "arrived_at": iso(p.arrived_at), "created_at": iso(p.created_at),
            "updated_at": iso(p.updated_at)}


def balance_transaction_object(t) -> dict:
    return {"id": t.id, "object": "balance_transaction", "type": t.type, "amount": t.amount,
            "fee": t.fee, "net": t.net, "currency": t.currency, "source": t.source_id,
            "payout_id": t.payout_id, "status": t.status, "livemode": bool(t.livemode),
            "available_on": iso(t.available_on), "created": iso(t.created_at)}
