"""API tokens: `knot_<id>_<secret>`, shown once at creation and stored only as a hash.

The id is public and finds the row; the secret is 256 random bits, so a plain sha256
is enough (no password stretching needed) and is compared in constant time. Creating
and revoking a token are audited like any other change.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from pydantic import BaseModel
from sqlalchemy import Row, select
from sqlalchemy.exc import IntegrityError

from knot.errors import Conflict, Invalid, NotFound
from knot.governance import audit
from knot.governance.identity import current_actor
from knot.governance.roles import Unauthorized, check_role
from knot.governance.tables import api_tokens
from knot.store.database import Database, now_ms

__all__ = ["ApiToken", "authenticate", "create_token", "list_tokens", "revoke_token"]

PREFIX = "knot_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")
_TOKEN = re.compile(r"^knot_([0-9a-f]{12})_([A-Za-z0-9_-]{20,})$")
_HOW = "an admin creates one with `knot tokens create NAME --role viewer`"


class ApiToken(BaseModel):
    """A token as stored: everything but its secret."""

    token_id: str
    name: str
    role: str
    created_at: int
    created_by: str
    revoked_at: int | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _token(row: Row[tuple[object, ...]]) -> ApiToken:
    fields = dict(row._mapping)
    fields.pop("secret_hash", None)
    return ApiToken.model_validate(fields)


def create_token(db: Database, name: str, role: str) -> tuple[ApiToken, str]:
    """Create a token; returns it and the secret token string, which is never kept."""
    if not _NAME.match(name):
        raise Invalid(
            f"token name {name!r} must be 1-128 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit (e.g. ci-bot or ana@team)",
            field="name",
        )
    check_role(role)
    token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    row = {
        "token_id": token_id,
        "name": name,
        "role": role,
        "secret_hash": _hash(secret),
        "created_at": now_ms(),
        "created_by": current_actor(),
        "revoked_at": None,
    }
    shown = {k: v for k, v in row.items() if k != "secret_hash"}
    try:
        with db.write() as conn:
            conn.execute(api_tokens.insert(), row)
            audit.record(conn, "create", "api_token", name, None, shown)
    except IntegrityError:
        raise Conflict(
            f"a token named {name!r} already exists (names are never reused, so the audit "
            "log stays unambiguous); pick another name, see them with `knot tokens list`",
            field="name",
        ) from None
    return ApiToken.model_validate(shown), f"{PREFIX}{token_id}_{secret}"


def list_tokens(db: Database) -> list[ApiToken]:
    """Every token, revoked ones included, oldest first."""
    with db.read() as conn:
        rows = conn.execute(select(api_tokens).order_by(api_tokens.c.created_at)).all()
    return [_token(r) for r in rows]


def revoke_token(db: Database, name: str) -> ApiToken:
    """Revoke a token by name; it is refused from the next request on."""
    with db.write() as conn:
        row = conn.execute(select(api_tokens).where(api_tokens.c.name == name)).first()
        if row is None:
            names = conn.execute(select(api_tokens.c.name).order_by(api_tokens.c.name)).scalars()
            known = ", ".join(names) or "none"
            raise NotFound(f"no token named {name!r}; tokens: {known}", field="name")
        before = _token(row)
        if not before.active:
            raise Conflict(f"token {name!r} is already revoked", field="name")
        at = now_ms()
        conn.execute(api_tokens.update().where(api_tokens.c.name == name).values(revoked_at=at))
        after = before.model_copy(update={"revoked_at": at})
        audit.record(conn, "revoke", "api_token", name, before.model_dump(), after.model_dump())
    return after


def authenticate(db: Database, token: str) -> ApiToken:
    """The active token this secret string belongs to, else Unauthorized."""
    match = _TOKEN.match(token.strip())
    if match is None:
        raise Unauthorized(
            "the bearer token is not a Knot token (they look like knot_<12 hex>_<secret>); "
            f"set KNOT_TOKEN to the token printed by `knot tokens create`, or {_HOW}",
            field="authorization",
        )
    token_id, secret = match.groups()
    with db.read() as conn:
        row = conn.execute(select(api_tokens).where(api_tokens.c.token_id == token_id)).first()
    # compare even when the id is unknown, so timing tells nothing about which ids exist
    stored = row.secret_hash if row is not None else _hash("")
    if not hmac.compare_digest(_hash(secret), stored) or row is None:
        raise Unauthorized(
            f"the token is not valid on this server (unknown or mistyped); {_HOW}",
            field="authorization",
        )
    found = _token(row)
    if not found.active:
        raise Unauthorized(
            f"token {found.name!r} was revoked; ask an admin for a new one "
            "(`knot tokens create NAME --role viewer`)",
            field="authorization",
        )
    return found
