"""Who is looking at a UI page, and what they may do: the REST API's tokens and roles,
carried by a cookie instead of a header.

Signing in posts a token once; the server checks it and keeps it in an HttpOnly,
SameSite=Strict cookie, so page scripts never see it and other sites never send it.
Every form carries a CSRF token (a random value also kept in an HttpOnly cookie, and
compared on each POST), so a forged form from elsewhere is refused even where a
browser ignores SameSite. With auth off every visitor may write, as the REST API allows.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response

from knot.errors import KnotError
from knot.governance.roles import Forbidden, allows
from knot.governance.tokens import authenticate

__all__ = [
    "CSRF_COOKIE",
    "SESSION_COOKIE",
    "SignInNeeded",
    "Visitor",
    "check_csrf",
    "csrf_value",
    "visitor",
]

SESSION_COOKIE = "knot_session"
CSRF_COOKIE = "knot_csrf"
CSRF_FIELD = "csrf"


class SignInNeeded(Exception):
    """Raised by a page when auth is on and the visitor has no valid session."""

    def __init__(self, next_url: str, message: str = "") -> None:
        super().__init__(message)
        self.next_url = next_url
        self.message = message


@dataclass(frozen=True)
class Visitor:
    """The signed-in token (name, role), or the anonymous visitor of a server without auth."""

    name: str
    role: str | None  # None: auth is off, everything is allowed as over REST
    auth: bool

    def can(self, role: str) -> bool:
        return self.role is None or allows(self.role, role)

    def roles(self) -> set[str] | None:
        """What the registry's decide() checks against; None with auth off (local)."""
        return None if self.role is None else {self.role}

    def require(self, role: str, action: str) -> None:
        if not self.can(role):
            raise Forbidden(
                f"{self.name!r} has role {self.role!r} and {action} needs {role} or higher; "
                f"ask an admin for such a token (`knot tokens create NAME --role {role}`)"
            )


def visitor(request: Request) -> Visitor:
    """The request's visitor; with auth on, SignInNeeded when the cookie is missing or
    no longer valid (revoked, unknown)."""
    if not getattr(request.app.state, "auth", False):
        return Visitor("anonymous", None, False)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        raise SignInNeeded(here)
    try:
        token = authenticate(request.app.state.governance_holder.get().db, secret)
    except KnotError as exc:
        raise SignInNeeded(here, exc.message) from None
    return Visitor(token.name, token.role, True)


def sign_in_url(next_url: str) -> str:
    return "/ui/login?next=" + quote(next_url, safe="")


def csrf_value(request: Request) -> str:
    """The CSRF token for this browser: its cookie's, or a new one (set by `remember_csrf`)."""
    existing = request.cookies.get(CSRF_COOKIE, "")
    if len(existing) == 43:
        return existing
    value: str = request.state.__dict__.setdefault("new_csrf", secrets.token_urlsafe(32))
    return value


def remember_csrf(request: Request, response: Response) -> None:
    """Set the CSRF cookie when this request made a new token."""
    new = request.state.__dict__.get("new_csrf")
    if new:
        secure = request.url.scheme == "https"
        response.set_cookie(
            CSRF_COOKIE, new, httponly=True, samesite="strict", secure=secure, path="/"
        )


def check_csrf(request: Request, sent: str | None) -> None:
    """Forbidden unless the form's CSRF token matches this browser's cookie."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise Forbidden(
            "this form's CSRF token is missing or stale; reload the page and submit it again"
        )


def set_session(request: Request, response: Response, secret: str) -> None:
    secure = request.url.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE, secret, httponly=True, samesite="strict", secure=secure, path="/"
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
