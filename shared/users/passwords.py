"""Passwords hashed with argon2id (argon2-cffi). A login for an unknown email still runs one
verify, against a dummy hash made with the same parameters, so both answers cost the same."""
from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from shared.config import Config
from shared.errors import InvalidRequest

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024


@lru_cache(maxsize=8)
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib,
                          parallelism=parallelism, type=Type.ID)


def hasher(config: Config) -> PasswordHasher:
    return _hasher(config.password_hash_time_cost, config.password_hash_memory_kib,
                   config.password_hash_parallelism)


@lru_cache(maxsize=8)
def _dummy_hash(time_cost: int, memory_kib: int, parallelism: int) -> str:
    return _hasher(time_cost, memory_kib, parallelism).hash("not a password of anyone's")


def dummy_hash(config: Config) -> str:
    return _dummy_hash(config.password_hash_time_cost, config.password_hash_memory_kib,
                       config.password_hash_parallelism)


def check_password_rules(password: str, param: str = "password") -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidRequest(f"The password must have at least {MIN_PASSWORD_LENGTH} "
                             "characters.", code="password_too_short", param=param)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidRequest(f"The password must have at most {MAX_PASSWORD_LENGTH} "
                             "characters.", code="password_too_long", param=param)


def hash_password(config: Config, password: str) -> str:
    check_password_rules(password)
    return hasher(config).hash(password)


def verify_password(config: Config, password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches. With no hash (unknown email) the dummy hash is
    verified instead and the answer is False, taking the same time as a wrong password."""
    target = password_hash or dummy_hash(config)
    try:
        matched = hasher(config).verify(target, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return matched and password_hash is not None
