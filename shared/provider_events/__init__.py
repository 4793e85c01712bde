"""Inbound provider events: a provider's webhook, stored raw, then applied to the payment or
refund it is about. Above payments and refunds (it moves both), below the API and workers."""
