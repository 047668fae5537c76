"""Access control for `knot server --auth` (or KNOT_AUTH=1): bearer tokens with roles.

Every request except /health and the API docs must carry `Authorization: Bearer
<token>` (401 otherwise; checked by the TokenAuth middleware before anything else).
Reads (GET) need a viewer, any other method an editor (403 otherwise; the app-wide
Authorize dependency), unless the route states its own role with `require_role(...)`:
approvals declare `require_role("approver")`, a read sent as POST
`require_role("viewer")`. The request runs `acting_as(token name, token role)`, so its
audit rows name the token and the registry's guards see the role it proved.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from knot.errors import Invalid, KnotError
from knot.governance.identity import acting_as
from knot.governance.roles import ROLES, Forbidden, Unauthorized, allows, check_role
from knot.governance.tokens import ApiToken, authenticate
from knot.server.error_handlers import error_response
from knot.server.mlflow.errors import is_mlflow_path, mlflow_error_response

__all__ = [
    "AUTH_ENV",
    "RoleCheck",
    "auth_from_env",
    "current_token",
    "install_auth",
    "require_role",
]

AUTH_ENV = "KNOT_AUTH"
PUBLIC_PATHS = frozenset({"/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
# the web UI (knot.server.ui) signs its visitors in with the same tokens, kept in a cookie
UI_PATHS = ("/", "/ui")
READS = frozenset({"GET", "HEAD", "OPTIONS"})
_SCOPE_KEY = "knot.token"
_CREATE = "an admin creates one with `knot tokens create NAME --role viewer`"


def auth_from_env() -> bool:
    """Whether KNOT_AUTH asks for auth: 1/true/yes/on or 0/false/no/off (unset: off)."""
    value = os.environ.get(AUTH_ENV, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise Invalid(f"{AUTH_ENV}={value!r} is not a switch; set it to 1 or 0", field=AUTH_ENV)


class RoleCheck:
    """The FastAPI dependency `require_role` returns; Authorize leaves its routes to it."""

    def __init__(self, role: str) -> None:
        self.role = check_role(role)

    def __call__(self, request: Request) -> ApiToken | None:
        if not getattr(request.app.state, "auth", False):
            return None
        token = current_token(request)
        if token is None:
            raise Unauthorized(f"this route needs a token; {_CREATE}", field="authorization")
        if not allows(token.role, self.role):
            raise Forbidden(_forbidden(token, self.role, request.method, request.url.path))
        return token


def require_role(role: str) -> RoleCheck:
    """A dependency that refuses (403) tokens below `role` when auth is on, e.g.
    `@router.post(..., dependencies=[Depends(require_role("approver"))])`; it returns
    the request's ApiToken (None with auth off)."""
    return RoleCheck(role)


def current_token(request: Request) -> ApiToken | None:
    """The token the request was authenticated with (None with auth off)."""
    token: ApiToken | None = request.scope.get(_SCOPE_KEY)
    return token


def _forbidden(token: ApiToken, needed: str, method: str, path: str) -> str:
    higher = ", ".join(ROLES[ROLES.index(needed) :])
    return (
        f"token {token.name!r} has role {token.role!r}, and {method} {path} needs one of: "
        f"{higher}; ask an admin for such a token (`knot tokens create NAME --role {needed}`)"
    )


def _declared(dependant: Dependant) -> bool:
    """Whether a route states its own role with `require_role` (at any depth)."""
    return any(isinstance(d.call, RoleCheck) or _declared(d) for d in dependant.dependencies)


class Authorize:
    """App-wide dependency: a route without its own `require_role` needs a viewer to
    read (GET) and an editor for anything else, except the `read_only` ones."""

    def __init__(self, read_only: Iterable[str]) -> None:
        self.read_only: list[tuple[str, re.Pattern[str]]] = []
        for entry in read_only:
            method, _, template = entry.partition(" ")
            self.read_only.append((method.upper(), compile_path(template)[0]))
        self._declares: dict[int, bool] = {}  # by route: routes live as long as the app

    def _route_declares(self, route: object) -> bool:
        if not isinstance(route, APIRoute):
            return False
        key = id(route)
        if key not in self._declares:
            self._declares[key] = _declared(route.dependant)
        return self._declares[key]

    def __call__(self, request: Request) -> None:
        token = current_token(request)
        if token is None or self._route_declares(request.scope.get("route")):
            return
        method, path = request.method, request.url.path
        reads = method in READS or any(
            method == m and pattern.match(path) for m, pattern in self.read_only
        )
        needed = "viewer" if reads else "editor"
        if not allows(token.role, needed):
            raise Forbidden(_forbidden(token, needed, method, path))


class TokenAuth:
    """ASGI middleware: every request but the public ones must carry a valid token; the
    request then runs as that token, so its audit rows name it."""

    def __init__(self, app: ASGIApp, fastapi: FastAPI) -> None:
        self.app = app
        self.fastapi = fastapi

    def _authenticate(self, scope: Scope) -> ApiToken:
        header = Headers(scope=scope).get("authorization", "")
        scheme, _, credentials = header.partition(" ")
        if not header:
            raise Unauthorized(
                "this Knot server requires a token: send `Authorization: Bearer <token>` "
                f"(Knot's client sends KNOT_TOKEN); {_CREATE}",
                field="authorization",
            )
        if scheme.lower() != "bearer" or not credentials.strip():
            raise Unauthorized(
                f"the Authorization header must be `Bearer <token>`, got a {scheme!r} one; "
                f"{_CREATE}",
                field="authorization",
            )
        holder = self.fastapi.state.governance_holder
        return authenticate(holder.get().db, credentials)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        ui = path in UI_PATHS or path.startswith("/ui/")  # the UI checks its own cookie
        if scope["type"] != "http" or path in PUBLIC_PATHS or ui:
            await self.app(scope, receive, send)
            return
        try:
            token = await run_in_threadpool(self._authenticate, scope)
        except KnotError as exc:
            if is_mlflow_path(scope["path"]):  # MLflow's client reads its own error shape
                response = mlflow_error_response(exc)
            else:
                response = error_response(exc.status_code, exc.to_dict())
            if exc.status_code == 401:
                response.headers["www-authenticate"] = 'Bearer realm="knot"'
            await response(scope, receive, send)
            return
        scope[_SCOPE_KEY] = token
        # sync endpoints run in Starlette's thread pool, which copies this context
        with acting_as(token.name, token.role):
            await self.app(scope, receive, send)


def install_auth(app: FastAPI, *, read_only: Iterable[str] = ()) -> None:
    """Turn auth on for `app`. `read_only` names non-GET routes that only read, as
    "METHOD /path/template" (e.g. "POST /api/v1/runs/search"), so viewers may call them."""
    app.state.auth = True
    app.add_middleware(TokenAuth, fastapi=app)
    # routes included from now on run it; a 403 then uses the app's Knot error handler
    app.router.dependencies.append(Depends(Authorize(read_only)))
    _document(app)


def _document(app: FastAPI) -> None:
    """Declare the bearer scheme in the OpenAPI document, so /docs offers "Authorize"."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = base()
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes["knotToken"] = {"type": "http", "scheme": "bearer", "bearerFormat": "knot_…"}
        for path, operations in schema.get("paths", {}).items():
            if path in PUBLIC_PATHS:
                continue
            for operation in operations.values():
                operation["security"] = [{"knotToken": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
