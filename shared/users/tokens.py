"""Access tokens (JWT) and refresh tokens (opaque).

Access tokens: PyJWT, HS256 only. The signing key is derived from SECRET_KEY (HMAC with a
fixed label), so the raw SECRET_KEY is never a JWT key and rotating SECRET_KEY logs everyone
out. Decoding pins the algorithm list to HS256 (``alg: none`` and RS256/HS256 key confusion
are refused by construction), checks ``iss`` and ``aud``, and requires every claim.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from shared.config import Config
from shared.errors import AuthenticationFailed

ALGORITHM = "HS256"
ISSUER = "payment-gateway"
AUDIENCE = "payment-gateway.api"
REQUIRED_CLAIMS = ("sub", "mid", "role", "livemode", "iat", "exp", "jti", "iss", "aud", "sid")
REFRESH_PREFIX = "rt_"


class InvalidToken(AuthenticationFailed):
    code = "invalid_token"


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    merchant_id: str
    role: str
    livemode: bool
    session_id: str   # the refresh chain this token belongs to
    jti: str
    issued_at: int
    expires_at: int


def signing_key(config: Config) -> bytes:
    return hmac.new(config.secret_key.encode(), b"gateway.jwt.access.v1",
                    hashlib.sha256).digest()


def encode_access_token(config: Config, *, user_id: str, merchant_id: str, role: str,
                        livemode: bool, session_id: str, now: datetime) -> tuple[str, int]:
    """The signed token and its lifetime in seconds."""
    ttl = config.access_token_ttl_s
    issued = int(now.timestamp())
    claims = {"sub": user_id, "mid": merchant_id, "role": role, "livemode": livemode,
              "sid": session_id, "iat": issued, "exp": issued + ttl,
              "jti": secrets.token_urlsafe(16), "iss": ISSUER, "aud": AUDIENCE}
    return jwt.encode(claims, signing_key(config), algorithm=ALGORITHM), ttl


def decode_access_token(config: Config, token: str) -> AccessClaims:
    try:
        claims = jwt.decode(token, signing_key(config), algorithms=[ALGORITHM],
                            audience=AUDIENCE, issuer=ISSUER,
                            options={"require": list(REQUIRED_CLAIMS)})
    except jwt.ExpiredSignatureError:
        raise InvalidToken("The access token has expired; refresh it.") from None
    except jwt.PyJWTError:
        raise InvalidToken("The access token is not valid.") from None
    types_ok = (isinstance(claims["sub"], str) and isinstance(claims["mid"], str)
                and isinstance(claims["role"], str) and isinstance(claims["livemode"], bool)
                and isinstance(claims["sid"], str) and isinstance(claims["jti"], str))
    if not types_ok:
        raise InvalidToken("The access token is not valid.")
    return AccessClaims(user_id=claims["sub"], merchant_id=claims["mid"], role=claims["role"],
                        livemode=claims["livemode"], session_id=claims["sid"],
                        jti=claims["jti"], issued_at=claims["iat"], expires_at=claims["exp"])


def looks_like_jwt(value: str) -> bool:
    return value.startswith("eyJ") and value.count(".") == 2


def new_refresh_token() -> str:
    return REFRESH_PREFIX + secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def refresh_expiry(config: Config, now: datetime) -> datetime:
    return now + timedelta(seconds=config.refresh_token_ttl_s)
