"""Email and SMS notifications, outbox-driven (SPEC "Protection"). Other domains call
``shared.notifications.service.enqueue(session, merchant_id, kind, context)``."""
