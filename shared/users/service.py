"""Users and their sessions (SPEC "Accounts, sessions and roles").

The importable API the HTTP layer and the dashboard share:
- ``register(...)``: a merchant and its owner, then a session.
- ``authenticate_password(session, config, email, password) -> User``: the same
  ``invalid_credentials`` for an unknown email and a wrong password (and an argon2 verify in
  both cases), ``too_many_login_attempts`` past the per-email failure limit.
- ``issue_session(...)``, ``refresh_session(...)``, ``end_session(...)``.
- ``principal_for_access_token(session, config, token)``.
- ``create_user``, ``list_users``, ``update_user``, ``change_password``.

Services flush, the boundary commits. Failures that must be remembered although the request
fails (a failed login, a reused refresh token revoking its chain) raise ``RecordedFailure``:
``run_keeping_failures`` commits what they wrote, then re-raises.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.audit.service import Actor, record_audit
from shared.config import Config
from shared.db import Database, utcnow
from shared.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from shared.ids import new_id
from shared.merchants.credentials import Principal, new_merchant
from shared.pagination import Page, keyset_page
from shared.users import passwords, tokens
from shared.users.models import LoginFailure, RefreshToken, User
from shared.users.roles import USER_ROLES
from shared.users.states import UserStatus

T = TypeVar("T")

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


class RecordedFailure(Exception):
    """Mixin: the session holds rows recording this failure; commit it, then raise."""


class InvalidCredentials(RecordedFailure, AuthenticationFailed):
    code = "invalid_credentials"


class TooManyLoginAttempts(RateLimited):
    code = "too_many_login_attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many failed logins for this email; try again later.")
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class RefreshTokenReused(RecordedFailure, AuthenticationFailed):
    code = "refresh_token_reused"


@dataclass(frozen=True)
class IssuedSession:
    access_token: str
    refresh_token: str     # shown once; stored only as a hash
    expires_in: int
    session_id: str
    livemode: bool
    user: User


def run_keeping_failures(database: Database, work: Callable[[Session], T]) -> T:
    """Run ``work(session)`` in one transaction. A ``RecordedFailure`` it raises is committed
    (the failure row, the revoked chain) before it propagates; any other error rolls back."""
    failure: BaseException | None = None
    with database.transaction() as session:
        try:
            return work(session)
        except RecordedFailure as exc:
            failure = exc
    assert failure is not None
    raise failure


def normalize_email(email: str, param: str = "email") -> str:
    value = email.strip().lower() if isinstance(email, str) else ""
    if not _EMAIL.match(value):
        raise InvalidRequest("Must be an email address.", code="parameter_invalid", param=param)
    return value


def user_object(user: User) -> dict:
    from shared.representation import iso
    return {"id": user.id, "object": "user", "merchant_id": user.merchant_id,
            "email": user.email, "name": user.name, "role": user.role, "status": user.status,
            "created": iso(user.created_at), "created_at": iso(user.created_at),
            "last_login": iso(user.last_login_at)}


def session_object(issued: IssuedSession) -> dict:
    return {"object": "session", "id": issued.session_id, "access_token": issued.access_token,
            "refresh_token": issued.refresh_token, "token_type": "Bearer",
            "expires_in": issued.expires_in, "livemode": issued.livemode,
            "user": user_object(issued.user)}


# --- users ---------------------------------------------------------------------------------

def _new_user(session: Session, config: Config, merchant_id: str, *, email: str, name: str,
              role: str, password: str) -> User:
    if role not in USER_ROLES:
        raise InvalidRequest(f"role must be one of {', '.join(USER_ROLES)}.", param="role")
    now = utcnow()
    user = User(id=new_id("user"), merchant_id=merchant_id, email=normalize_email(email),
                name=name, role=role, status=UserStatus.ACTIVE,
                password_hash=passwords.hash_password(config, password),
                created_at=now, updated_at=now)
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError:
        raise Conflict("A user with this email already exists.", code="email_taken",
                       param="email") from None
    return user


def create_user(session: Session, config: Config, merchant_id: str, *, email: str, name: str,
                role: str, password: str, actor: Actor) -> User:
    user = _new_user(session, config, merchant_id, email=email, name=name, role=role,
                     password=password)
    record_audit(session, actor=actor, action="user.create", object_id=user.id,
                 merchant_id=merchant_id, details={"role": role})
    return user


def create_demo_owner(session: Session, config: Config, merchant_id: str) -> tuple[User, str]:
    """The development demo merchant's owner, with a random password returned once (for
    ``gateway dev`` to print; it is stored only as its argon2 hash)."""
    import secrets
    password = secrets.token_urlsafe(12)
    user = create_user(session, config, merchant_id,
                       email=f"owner+{merchant_id.lower()}@demo.invalid", name="Demo owner",
                       role="owner", password=password, actor=Actor("operator", "cli"))
    return user, password


def reset_demo_owner(session: Session, config: Config, merchant_id: str) -> tuple[str, str]:
    """``gateway dev``: the demo owner's email and a new password (made on the first run,
    replaced on later ones, since only its hash is kept); the old sessions end."""
    import secrets
    email = f"owner+{merchant_id.lower()}@demo.invalid"
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        user, password = create_demo_owner(session, config, merchant_id)
        return user.email, password
    password = secrets.token_urlsafe(12)
    user.password_hash = passwords.hash_password(config, password)
    user.updated_at = utcnow()
    revoke_all_sessions(session, user.id)
    record_audit(session, actor=Actor("operator", "gateway-dev"),
                 action="user.password_reset", object_id=user.id, merchant_id=merchant_id)
    return email, password


def get_user(session: Session, merchant_id: str, user_id: str, *, lock: bool = False) -> User:
    user = None if "\x00" in user_id else session.get(User, user_id, with_for_update=lock)
    if user is None or user.merchant_id != merchant_id:
        raise NotFound(f"No such user: {user_id!r}.", param="id")
    return user


def list_users(session: Session, merchant_id: str, args: dict) -> Page:
    return keyset_page(session, User, merchant_id, [], args["limit"],
                       args.get("starting_after"))


def update_user(session: Session, merchant_id: str, user_id: str, data: dict, *,
                actor: Actor, actor_role: str) -> User:
    """Change a user's role or status. The last active owner can be neither demoted nor
    disabled (the owners are locked in id order, so two concurrent demotions cannot both
    pass); only an owner can make or unmake an owner."""
    owners = session.scalars(select(User).where(
        User.merchant_id == merchant_id, User.role == "owner").order_by(User.id)
        .with_for_update()).all()
    user = get_user(session, merchant_id, user_id, lock=True)
    role, status = data.get("role", user.role), data.get("status", user.status)
    if role not in USER_ROLES:
        raise InvalidRequest(f"role must be one of {', '.join(USER_ROLES)}.", param="role")
    if status not in (UserStatus.ACTIVE, UserStatus.DISABLED):
        raise InvalidRequest("status must be active or disabled.", param="status")
    if "owner" in (role, user.role) and role != user.role and actor_role != "owner":
        raise PermissionDenied("Only an owner can grant or remove the owner role.",
                               code="insufficient_role", param="role")
    losing_owner = user.role == "owner" and user.status == UserStatus.ACTIVE and (
        role != "owner" or status != UserStatus.ACTIVE)
    if losing_owner and not any(o.id != user.id and o.status == UserStatus.ACTIVE for o in owners):
        raise Conflict("The last active owner cannot be demoted or disabled.",
                       code="last_owner", param="role" if role != "owner" else "status")
    changes = {}
    if role != user.role:
        changes["role"] = [user.role, role]
        user.role = role
    if status != user.status:
        changes["status"] = [user.status, status]
        user.status = status
        if status == UserStatus.DISABLED:
            revoke_all_sessions(session, user.id)
    user.updated_at = utcnow()
    record_audit(session, actor=actor, action="user.update", object_id=user.id,
                 merchant_id=merchant_id, details=changes)
    return user


def change_password(session: Session, config: Config, user: User, current: str, new: str,
                    *, actor: Actor) -> None:
    """A new password after proving the current one; every session of the user ends."""
    if not passwords.verify_password(config, user.password_hash, current):
        raise InvalidRequest("The current password is wrong.", code="invalid_credentials",
                             param="current_password")
    user.password_hash = passwords.hash_password(config, new)
    user.updated_at = utcnow()
    revoke_all_sessions(session, user.id)
    record_audit(session, actor=actor, action="user.password_change", object_id=user.id,
                 merchant_id=user.merchant_id)


# --- login ---------------------------------------------------------------------------------

def _check_failure_limit(session: Session, config: Config, email: str) -> None:
    since = utcnow() - timedelta(seconds=config.login_failure_window_s)
    rows = session.scalars(select(LoginFailure.created_at).where(
        LoginFailure.email == email, LoginFailure.created_at > since)
        .order_by(LoginFailure.created_at.desc()).limit(config.login_failure_limit)).all()
    if len(rows) >= config.login_failure_limit:
        oldest = rows[-1]
        wait = (oldest + timedelta(seconds=config.login_failure_window_s) - utcnow())
        raise TooManyLoginAttempts(max(1, int(wait.total_seconds()) + 1))


def authenticate_password(session: Session, config: Config, email: str,
                          password: str) -> User:
    """The active user with this email and password, or ``InvalidCredentials`` (the same for
    an unknown email, a wrong password and a disabled user; the failure is recorded)."""
    normalized = email.strip().lower() if isinstance(email, str) else ""
    _check_failure_limit(session, config, normalized)
    user = session.scalars(select(User).where(User.email == normalized)).first() \
        if normalized else None
    matched = passwords.verify_password(config, user.password_hash if user else None,
                                        password if isinstance(password, str) else "")
    if not matched or user is None or user.status != UserStatus.ACTIVE:
        session.add(LoginFailure(email=normalized[:320], created_at=utcnow()))
        record_audit(session, actor=Actor("user", user.id if user else None),
                     action="user.login_failed", object_id=user.id if user else None,
                     merchant_id=user.merchant_id if user else None)
        session.flush()
        raise InvalidCredentials("Wrong email or password.")
    if passwords.hasher(config).check_needs_rehash(user.password_hash):
        user.password_hash = passwords.hasher(config).hash(password)
    return user


def issue_session(session: Session, config: Config, user: User, *, livemode: bool = False,
                  chain_id: str | None = None) -> IssuedSession:
    """A new access token and refresh token; a new chain unless ``chain_id`` continues one."""
    now = utcnow()
    chain_id = chain_id or new_id("session")
    refresh = tokens.new_refresh_token()
    session.add(RefreshToken(id=new_id("refresh_token"), chain_id=chain_id, user_id=user.id,
                             merchant_id=user.merchant_id, livemode=livemode,
                             token_hash=tokens.hash_refresh_token(refresh), created_at=now,
                             expires_at=tokens.refresh_expiry(config, now)))
    access, ttl = tokens.encode_access_token(
        config, user_id=user.id, merchant_id=user.merchant_id, role=user.role,
        livemode=livemode, session_id=chain_id, now=now)
    session.flush()
    return IssuedSession(access_token=access, refresh_token=refresh, expires_in=ttl,
                         session_id=chain_id, livemode=livemode, user=user)


def _start_session(session: Session, config: Config, user: User,
                   livemode: bool) -> IssuedSession:
    user.last_login_at = utcnow()
    return issue_session(session, config, user, livemode=livemode)


def login(session: Session, config: Config, email: str, password: str, *,
          livemode: bool = False) -> IssuedSession:
    user = authenticate_password(session, config, email, password)
    issued = _start_session(session, config, user, livemode)
    record_audit(session, actor=Actor("user", user.id), action="user.login",
                 object_id=issued.session_id, merchant_id=user.merchant_id,
                 details={"livemode": livemode})
    return issued


def register(session: Session, config: Config, *, merchant_name: str, email: str,
             password: str, name: str | None = None) -> IssuedSession:
    """A merchant, its owner and the owner's first (test mode) session: one audit row."""
    if not config.allow_signup:
        raise PermissionDenied("Sign-up is closed on this gateway.", code="signup_disabled")
    normalized = normalize_email(email)
    passwords.check_password_rules(password)
    merchant = new_merchant(session, merchant_name, normalized)
    user = _new_user(session, config, merchant.id, email=normalized,
                     name=name or normalized.split("@", 1)[0], role="owner",
                     password=password)
    issued = _start_session(session, config, user, livemode=False)
    record_audit(session, actor=Actor("user", user.id), action="merchant.register",
                 object_id=merchant.id, merchant_id=merchant.id,
                 details={"user_id": user.id})
    return issued


def refresh_session(session: Session, config: Config, refresh_token: str) -> IssuedSession:
    """Use a refresh token once: a new pair in the same chain. A used token presented again
    revokes the whole chain (``refresh_token_reused``)."""
    if not isinstance(refresh_token, str) or not refresh_token.startswith(
            tokens.REFRESH_PREFIX):
        raise tokens.InvalidToken("The refresh token is not valid.", param="refresh_token")
    link = session.scalars(select(RefreshToken).where(
        RefreshToken.token_hash == tokens.hash_refresh_token(refresh_token))
        .with_for_update()).first()
    if link is None:
        raise tokens.InvalidToken("The refresh token is not valid.", param="refresh_token")
    now = utcnow()
    if link.used_at is not None:
        revoke_chain(session, link.chain_id)
        record_audit(session, actor=Actor("user", link.user_id),
                     action="session.refresh_reused", object_id=link.chain_id,
                     merchant_id=link.merchant_id)
        session.flush()
        raise RefreshTokenReused("This refresh token was already used; the session is "
                                 "revoked.", param="refresh_token")
    user = session.get(User, link.user_id)
    if link.revoked_at is not None or link.expires_at <= now or user is None \
            or user.status != UserStatus.ACTIVE:
        raise tokens.InvalidToken("The refresh token is not valid.", param="refresh_token")
    link.used_at = now
    issued = issue_session(session, config, user, livemode=link.livemode,
                           chain_id=link.chain_id)
    record_audit(session, actor=Actor("user", user.id), action="session.refresh",
                 object_id=link.chain_id, merchant_id=user.merchant_id)
    return issued


def revoke_chain(session: Session, chain_id: str) -> None:
    session.execute(update(RefreshToken).where(RefreshToken.chain_id == chain_id,
                                               RefreshToken.revoked_at.is_(None))
                    .values(revoked_at=utcnow()))


def revoke_all_sessions(session: Session, user_id: str) -> None:
    session.execute(update(RefreshToken).where(RefreshToken.user_id == user_id,
                                               RefreshToken.revoked_at.is_(None))
                    .values(revoked_at=utcnow()))


def end_session(session: Session, principal: Principal) -> None:
    """Logout: the caller's chain is revoked; its access tokens stop within the cache TTL."""
    if principal.session_id is None or principal.user_id is None:
        raise PermissionDenied("Logout needs a user's access token, not an API key.")
    revoke_chain(session, principal.session_id)
    record_audit(session, actor=principal.actor, action="user.logout",
                 object_id=principal.session_id, merchant_id=principal.merchant_id)


def principal_for_access_token(session: Session, config: Config,
                               token: str) -> Principal:
    """The signed-in user behind an access token: a valid signature is not enough, the user
    must still be active and the token's chain not revoked. The role is the user's current
    one, so a demotion applies at once (within the cache TTL)."""
    claims = tokens.decode_access_token(config, token)
    user = session.get(User, claims.user_id)
    if user is None or user.merchant_id != claims.merchant_id or user.status != UserStatus.ACTIVE:
        raise tokens.InvalidToken("The access token is no longer valid.")
    alive = session.execute(select(RefreshToken.id).where(
        RefreshToken.chain_id == claims.session_id, RefreshToken.user_id == user.id,
        RefreshToken.revoked_at.is_(None)).limit(1)).first()
    if alive is None:
        raise tokens.InvalidToken("The session of this access token has ended.")
    return Principal(key_id=None, merchant_id=user.merchant_id, role=user.role,
                     user_id=user.id, livemode=claims.livemode,
                     session_id=claims.session_id)
