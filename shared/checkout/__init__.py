"""Hosted checkout sessions: a page where a merchant's customer pays (``/pay/{cs_id}``)."""
