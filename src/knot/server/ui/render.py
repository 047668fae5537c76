"""Pages from the package's Jinja2 templates, in the shell the static reports use (its
style sheet and plotly.js), and the one way a page turns a Knot error into an HTML page
with the error's status (404 for an unknown run, 422 for a bad filter), never a 500."""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import logging
import math
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from knot._version import __version__
from knot.errors import KnotError
from knot.page.shell import GENERATOR, STYLE
from knot.server.ui.session import (
    SignInNeeded,
    Visitor,
    csrf_value,
    remember_csrf,
    sign_in_url,
    visitor,
)

__all__ = ["PLOTLY_PATH", "figure", "page", "render", "shows_errors"]

log = logging.getLogger("knot.server.ui")

PLOTLY_PATH = f"/ui/static/plotly-{__version__}.min.js"
SCRIPT_PATH = f"/ui/static/knot-ui-{__version__}.js"


def _when(ms: int | None) -> str:
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _number(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return f"{value:.6g}"
    return str(value)


def _duration(start: int | None, end: int | None) -> str:
    if start is None or end is None:
        return ""
    seconds = max(0, end - start) / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{seconds / 60:.1f}min"
    return f"{seconds / 3600:.1f}h"


def figure(spec: dict[str, Any]) -> Markup:
    """A Plotly figure given as {"data": [...], "layout": {...}}, drawn by knot-ui.js; the
    JSON sits in a script element, with "</" escaped so no value can close it."""
    text = orjson.dumps(spec, option=orjson.OPT_SERIALIZE_NUMPY).decode()
    text = text.replace("</", "<\\/")
    return Markup(
        '<div class="figure"><div class="plot"></div>'
        f'<script type="application/json" class="plot-spec">{text}</script></div>'
    )


_ENV = Environment(
    loader=PackageLoader("knot.server.ui", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["when"] = _when
_ENV.filters["number"] = _number
_ENV.globals.update(
    duration=_duration,
    figure=figure,
    style=Markup(STYLE),
    generator=GENERATOR,
    plotly_path=PLOTLY_PATH,
    script_path=SCRIPT_PATH,
)


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """The page from `template`, with the visitor and a CSRF token for its forms."""
    who: Visitor | None = context.pop("who", None)
    if who is None:
        try:
            who = visitor(request)
        except SignInNeeded:
            who = Visitor("", "viewer", True)  # an error page for someone not signed in
    text = _ENV.get_template(template).render(
        request=request, who=who, csrf=csrf_value(request), **context
    )
    response = HTMLResponse(text, status_code=status)
    remember_csrf(request, response)
    return response


def error_page(request: Request, exc: KnotError) -> HTMLResponse:
    return render(
        request, "error.html", status=exc.status_code, error=exc.message, kind=type(exc).__name__
    )


def shows_errors(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Wrap a page handler: a Knot error becomes an error page with its status, a
    missing session a redirect to sign in, anything else a 500 page (and a log line)."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        request: Request = kwargs["request"]
        try:
            return handler(*args, **kwargs)
        except SignInNeeded as exc:
            return RedirectResponse(sign_in_url(exc.next_url), status_code=303)
        except KnotError as exc:
            return error_page(request, exc)

    wrapper.__signature__ = inspect.signature(handler)  # type: ignore[attr-defined]
    return wrapper


page = shows_errors
