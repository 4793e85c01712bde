"""The demo owner ``make run`` creates beside the demo merchant, so a newcomer can sign in to
the dashboard at once; the password is random and printed once."""
from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from shared.audit.service import CLI_ACTOR
from shared.config import Config
from shared.users import service as users


def create_demo_owner(session: Session, config: Config, merchant_id: str) -> tuple[str, str]:
    """An owner for the demo merchant: ``(email, password)``. Emails are unique across the
    gateway and every run makes a new demo merchant, so the email names the merchant."""
    email = f"demo+{merchant_id.split('_', 1)[-1][-8:]}@example.com"
    password = secrets.token_urlsafe(12)
    users.create_user(session, config, merchant_id, email=email, name="Demo owner",
                      role="owner", password=password, actor=CLI_ACTOR)
    return email, password
