"""Users, roles and access tokens.

A token is 32 random bytes (``secrets.token_urlsafe``) prefixed ``cm_``; only its SHA-256
is stored, so a database dump does not reveal working tokens. A token has an expiry and can
be revoked; a request with a missing, unknown, expired or revoked token is a 401 problem.

Roles (a user has one or more):

* ``operator``: runs the service for the market's secretariat: registers members, users,
  contracts and stockpile accounts; publishes, finalises and corrects reference prices (the
  secretariat publishes them, and the issue's own flow has the operator publish); approves
  releases and draws as the second person; reads all.
* ``price_publisher``: publishes, finalises and corrects reference prices and nothing else
  (a methodology desk that should not administer the service).
* ``initiator`` (member representative): files its member's declarations, registers its
  lots, initiates its stockpile movements.
* ``approver`` (member representative): approves or rejects its member's releases and
  draws (never one the same user initiated).
* ``auditor``: reads everything, changes nothing.

A user with a ``member_id`` sees only that member's declarations, contracts, lots and
stockpile accounts; operator and auditor see all members.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa

from critmin.api.http import ProblemError, forbidden
from critmin.store.audit import now_iso
from critmin.store.schema import tokens, users

OPERATOR = "operator"
PUBLISHER = "price_publisher"
INITIATOR = "initiator"
APPROVER = "approver"
AUDITOR = "auditor"
ROLES = (OPERATOR, PUBLISHER, INITIATOR, APPROVER, AUDITOR)
MEMBER_ROLES = (INITIATOR, APPROVER)
DEFAULT_TOKEN_DAYS = 30


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    user_id: int
    name: str
    member_id: str | None
    roles: frozenset[str]

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def require(self, *roles: str) -> None:
        if not self.has(*roles):
            raise forbidden(
                f"user {self.name!r} (roles {', '.join(sorted(self.roles))}) needs one of the "
                f"roles {', '.join(roles)}"
            )

    @property
    def sees_all(self) -> bool:
        """Operators and auditors read every member's records."""
        return self.has(OPERATOR, AUDITOR)

    def may_see(self, member_id: str | None) -> bool:
        return self.sees_all or (self.member_id is not None and self.member_id == member_id)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return "cm_" + secrets.token_urlsafe(32)


def issue_token(
    conn: sa.Connection, user_id: int, days: float = DEFAULT_TOKEN_DAYS
) -> dict[str, object]:
    """Store a new token's hash; return the plain token (shown once) and its row."""
    token = new_token()
    created = dt.datetime.now(dt.UTC)
    expires = created + dt.timedelta(days=days)
    res = conn.execute(
        tokens.insert().values(
            user_id=user_id,
            token_sha256=hash_token(token),
            created_at=created.isoformat(timespec="microseconds"),
            expires_at=expires.isoformat(timespec="microseconds"),
            revoked_at=None,
        )
    )
    pk = res.inserted_primary_key
    assert pk is not None
    return {
        "id": int(pk[0]),
        "user_id": user_id,
        "token": token,
        "expires_at": expires.isoformat(timespec="microseconds"),
    }


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(
        401,
        "unauthorized",
        "Unauthorized",
        detail,
        [("header.Authorization", detail)],
        headers={"WWW-Authenticate": 'Bearer realm="critmin"'},
    )


# built once: every request runs it, and building a select plus its cache key cost about as
# much as executing it (an in-process loop: 1.1 ms -> 0.5 ms per authentication on SQLite)
_TOKEN_QUERY = (
    sa.select(
        tokens.c.expires_at,
        tokens.c.revoked_at,
        users.c.id,
        users.c.name,
        users.c.member_id,
        users.c.roles,
    )
    .join(users, users.c.id == tokens.c.user_id)
    .where(tokens.c.token_sha256 == sa.bindparam("token_sha256"))
)


#: how long a verified token is trusted without reading the database again. Reading it was a
#: pooled connection, a transaction and an indexed select on every request (about a fifth of
#: a small read's server CPU). A revocation is seen at once by the process that made it
#: (:func:`forget_verified_tokens`) and within this many seconds by the other worker
#: processes; an expiry is checked on every request.
TOKEN_CACHE_S = 1.0
_TOKEN_CACHE_MAX = 10_000
#: SHA-256 of a token -> (its principal, its expiry, trusted until: time.monotonic())
_verified: dict[str, tuple[Principal, str, float]] = {}


def cached_principal(token: str) -> Principal | None:
    """The principal of a token verified less than :data:`TOKEN_CACHE_S` ago and not expired
    since, else None (then :func:`authenticate` reads the database)."""
    key = hash_token(token)
    hit = _verified.get(key)
    if hit is None:
        return None
    principal, expires_at, until = hit
    if time.monotonic() > until or expires_at <= now_iso():
        _verified.pop(key, None)
        return None
    return principal


def forget_verified_tokens() -> None:
    """Trust no token without reading the database again (after a revocation)."""
    _verified.clear()


def authenticate(conn: sa.Connection, token: str | None) -> Principal:
    """The principal of a bearer token, or a 401 problem."""
    if not token:
        raise _unauthorized("missing bearer token")
    key = hash_token(token)
    row = conn.execute(_TOKEN_QUERY, {"token_sha256": key}).first()
    if row is None:
        raise _unauthorized("unknown token")
    if row.revoked_at is not None:
        raise _unauthorized("token revoked")
    if row.expires_at <= now_iso():
        raise _unauthorized("token expired")
    principal = Principal(row.id, row.name, row.member_id, frozenset(row.roles))
    if len(_verified) >= _TOKEN_CACHE_MAX:
        _verified.clear()
    _verified[key] = (principal, row.expires_at, time.monotonic() + TOKEN_CACHE_S)
    return principal
