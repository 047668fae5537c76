"""The UI's scripts, served from the installed packages, never from a CDN: plotly.js is
the bundle inside the `plotly` package. Their paths carry the Knot version, so browsers
keep them for a year and a new Knot changes the path."""

from __future__ import annotations

import gzip
from functools import cache
from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.responses import Response

from knot.page.shell import plotly_js
from knot.server.ui.render import PLOTLY_PATH, SCRIPT_PATH

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_CACHE = "public, max-age=31536000, immutable"
_JS = "text/javascript; charset=utf-8"


@cache
def _plotly() -> tuple[bytes, bytes]:
    raw = plotly_js().encode()
    return raw, gzip.compress(raw, compresslevel=6)


@cache
def _script() -> bytes:
    return files("knot.server.ui").joinpath("static/knot-ui.js").read_bytes()


def _send(request: Request, raw: bytes, packed: bytes | None) -> Response:
    headers = {"cache-control": _CACHE, "vary": "accept-encoding"}
    if packed is not None and "gzip" in request.headers.get("accept-encoding", ""):
        headers["content-encoding"] = "gzip"
        return Response(packed, media_type=_JS, headers=headers)
    return Response(raw, media_type=_JS, headers=headers)


@router.get(PLOTLY_PATH)
def plotly(request: Request) -> Response:
    raw, packed = _plotly()
    return _send(request, raw, packed)


@router.get(SCRIPT_PATH)
def script(request: Request) -> Response:
    return _send(request, _script(), None)
