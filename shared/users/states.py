"""Dashboard user statuses (plain strings, as stored and as served)."""
from __future__ import annotations

from typing import Final


class UserStatus:
    ACTIVE: Final = "active"
    DISABLED: Final = "disabled"


USER_STATUSES = (UserStatus.ACTIVE, UserStatus.DISABLED)
