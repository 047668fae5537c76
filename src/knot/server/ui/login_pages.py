"""Signing in and out of the UI with an API token (see knot.server.ui.session)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from knot.errors import KnotError
from knot.governance.tokens import authenticate
from knot.server.ui.render import page, render
from knot.server.ui.session import Visitor, check_csrf, clear_session, set_session

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _safe_next(next_url: str | None) -> str:
    # only a path on this server: "//evil.example" or "https://..." would leave it
    if not next_url or not next_url.startswith("/") or next_url.startswith("//"):
        return "/ui/"
    if "\\" in next_url or any(ord(c) < 32 for c in next_url):
        return "/ui/"
    return next_url


@router.get("/ui/login")
@page
def login_form(request: Request, next: str | None = None) -> Response:
    anonymous = Visitor("", None, bool(getattr(request.app.state, "auth", False)))
    return render(request, "login.html", who=anonymous, next=_safe_next(next), error=None)


@router.post("/ui/login")
@page
def login(
    request: Request,
    token: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf)
    anonymous = Visitor("", None, True)
    try:
        authenticate(request.app.state.governance_holder.get().db, token)
    except KnotError as exc:
        return render(
            request,
            "login.html",
            status=401,
            who=anonymous,
            next=_safe_next(next),
            error=exc.message,
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session(request, response, token.strip())
    return response


@router.post("/ui/logout")
@page
def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf)
    response = RedirectResponse("/ui/login", status_code=303)
    clear_session(response)
    return response
