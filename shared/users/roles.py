"""What each role may do: SPEC "Accounts, sessions and roles", the table as data.

A user's role is one of ``owner``, ``admin``, ``developer``, ``viewer``; a merchant API key
acts as ``api_key``. Every route names the action it performs (``api.auth.requires``), and an
action belongs to one row of the table.
"""
from __future__ import annotations

USER_ROLES = ("owner", "admin", "developer", "viewer")
API_KEY_ROLE = "api_key"
ALL_ROLES = USER_ROLES + (API_KEY_ROLE,)

# row -> the roles allowed (SPEC table, one row each)
ROLE_TABLE: dict[str, frozenset[str]] = {
    # read payments, refunds, orders, events, logs, balance, reports
    "read": frozenset({"owner", "admin", "developer", "viewer", "api_key"}),
    # create payments, orders, refunds, checkout sessions; cancel
    "transact": frozenset({"owner", "admin", "developer", "api_key"}),
    # webhook endpoints, API keys
    "develop": frozenset({"owner", "admin", "developer", "api_key"}),
    # users, merchant settings, risk rules, payouts, audit log
    "administer": frozenset({"owner", "admin"}),
}

# action -> row
ACTIONS: dict[str, str] = {
    "payments.read": "read",
    "refunds.read": "read",
    "orders.read": "read",
    "events.read": "read",
    "webhook_logs.read": "read",
    "balance.read": "read",
    "reports.read": "read",
    "me.read": "read",
    "me.write": "read",
    "payments.write": "transact",
    "orders.write": "transact",
    "refunds.write": "transact",
    "checkout_sessions.write": "transact",
    "webhook_endpoints.read": "read",
    "webhook_endpoints.write": "develop",
    "webhook_logs.retry": "develop",
    "api_keys.read": "develop",
    "api_keys.write": "develop",
    "users.read": "administer",
    "users.write": "administer",
    "merchant_settings.read": "administer",
    "merchant_settings.write": "administer",
    "notifications.read": "read",
    "risk_rules.read": "administer",
    "risk_rules.write": "administer",
    "payouts.read": "administer",
    "payouts.write": "administer",
    "audit_logs.read": "administer",
}


def can(role: str, action: str) -> bool:
    """May ``role`` perform ``action``? An action missing from the table is a programming
    error, not a silent yes or no."""
    try:
        row = ACTIONS[action]
    except KeyError:
        raise ValueError(f"unknown action {action!r}: add it to shared.users.roles.ACTIONS"
                         ) from None
    return role in ROLE_TABLE[row]
