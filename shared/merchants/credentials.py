"""API keys: issued once, stored as a SHA-256 hash, checked in constant time.

A secret is ``sk_test_`` or ``sk_live_`` + 40 url-safe random characters (~240 bits), so a
fast hash is the right tool (no password stretching needed) and the hash is a unique index for
lookup. The visible ``prefix`` lets people tell keys apart without exposing them. A key is in
test mode unless issued live (SPEC "Test and live mode"); operator keys are ``sk_op_``.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.audit.service import CLI_ACTOR, Actor, record_audit
from shared.db import utcnow
from shared.errors import NotFound
from shared.ids import new_id
from shared.merchants.models import ApiKey, Merchant
from shared.pagination import Page, keyset_page


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    api_key: str          # the secret; shown once, never stored
    merchant_id: str | None
    livemode: bool = False


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key (``role`` "api_key" or "operator") or a user signed in with
    an access token (``role`` their user role, ``user_id`` and ``session_id`` set)."""
    key_id: str | None
    merchant_id: str | None
    role: str             # operator | api_key | owner | admin | developer | viewer
    user_id: str | None = None
    livemode: bool = False
    session_id: str | None = None   # a user's refresh chain

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"

    @property
    def is_user(self) -> bool:
        return self.user_id is not None

    @property
    def actor(self) -> Actor:
        if self.user_id is not None:
            return Actor("user", self.user_id)
        return Actor("operator" if self.is_operator else "api_key", self.key_id)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_prefix(role: str, livemode: bool) -> str:
    if role == "operator":
        return "sk_op_"
    return "sk_live_" if livemode else "sk_test_"


def _new_key(session: Session, merchant_id: str | None, role: str,
             livemode: bool) -> IssuedKey:
    secret = secret_prefix(role, livemode) + secrets.token_urlsafe(30)
    key = ApiKey(id=new_id("api_key"), merchant_id=merchant_id, role=role,
                 livemode=livemode and role != "operator", prefix=secret[:14],
                 secret_hash=hash_secret(secret), created_at=utcnow())
    session.add(key)
    session.flush()
    return IssuedKey(key_id=key.id, api_key=secret, merchant_id=merchant_id,
                     livemode=key.livemode)


def issue_key(session: Session, merchant_id: str | None, role: str = "merchant",
              actor: Actor = CLI_ACTOR, livemode: bool = False) -> IssuedKey:
    issued = _new_key(session, merchant_id, role, livemode)
    record_audit(session, actor=actor, action="api_key.create", object_id=issued.key_id,
                 merchant_id=merchant_id, details={"role": role, "livemode": issued.livemode})
    return issued


def new_merchant(session: Session, name: str, email: str | None = None) -> Merchant:
    merchant = Merchant(id=new_id("merchant"), name=name, email=email, created_at=utcnow())
    session.add(merchant)
    session.flush()
    return merchant


def create_merchant(session: Session, name: str, email: str | None = None,
                    actor: Actor = CLI_ACTOR, livemode: bool = False
                    ) -> tuple[Merchant, IssuedKey]:
    """A merchant and its first API key (the operator command): one change, one audit row."""
    merchant = new_merchant(session, name, email)
    issued = _new_key(session, merchant.id, "merchant", livemode)
    record_audit(session, actor=actor, action="merchant.create", object_id=merchant.id,
                 merchant_id=merchant.id,
                 details={"key_id": issued.key_id, "livemode": issued.livemode})
    return merchant, issued


def revoke_key(session: Session, key_id: str, actor: Actor = CLI_ACTOR,
               merchant_id: str | None = None) -> ApiKey:
    """Revoke a key; with ``merchant_id`` only that merchant's (another's is not found)."""
    key = None if "\x00" in key_id else session.get(ApiKey, key_id, with_for_update=True)
    if key is None or (merchant_id is not None and key.merchant_id != merchant_id):
        raise NotFound(f"No API key {key_id!r}.", param="key_id")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    # Revoking twice changes nothing, but it is still the operator's or merchant's act.
    record_audit(session, actor=actor, action="api_key.revoke", object_id=key.id,
                 merchant_id=key.merchant_id)
    return key


def list_keys(session: Session, merchant_id: str, args: dict) -> Page:
    return keyset_page(session, ApiKey, merchant_id, [], args["limit"],
                       args.get("starting_after"))


def api_key_object(key: ApiKey, secret: str | None = None) -> dict:
    from shared.representation import iso
    body = {"id": key.id, "object": "api_key", "prefix": key.prefix, "livemode": key.livemode,
            "created_at": iso(key.created_at), "revoked_at": iso(key.revoked_at)}
    if secret is not None:
        body["secret"] = secret
    return body


def authenticate_secret(session: Session, secret: str, key_id: str | None = None
                        ) -> Principal | None:
    """The principal for a secret (Bearer) or key id + secret (Basic), or None."""
    digest = hash_secret(secret)
    if key_id is not None:
        key = session.get(ApiKey, key_id)
    else:
        key = session.scalars(select(ApiKey).where(ApiKey.secret_hash == digest)).first()
    # Compare the digests in constant time even after an indexed lookup, so a Basic key id
    # with a wrong secret takes the same path as a right one.
    if key is None or not hmac.compare_digest(key.secret_hash, digest):
        return None
    if key.revoked_at is not None:
        return None
    role = "operator" if key.role == "operator" else "api_key"
    return Principal(key_id=key.id, merchant_id=key.merchant_id, role=role,
                     livemode=key.livemode)
