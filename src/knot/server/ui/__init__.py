"""The web UI: server-rendered pages over the same stores as the REST routes, mounted
at / by `knot server` (and `knot ui`). Pages are Jinja2 templates in the report shell
of knot.page; charts are Plotly figures drawn by the plotly.js of the `plotly` package,
served by the app itself, so the UI works offline. Auth: knot.server.ui.session."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from knot.errors import NotFound
from knot.server.ui import (
    artifact_pages,
    compare_page,
    data_pages,
    governance_pages,
    login_pages,
    model_pages,
    monitor_pages,
    runs_pages,
    static_routes,
)
from knot.server.ui.render import page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
for module in (
    static_routes,
    login_pages,
    runs_pages,
    compare_page,
    artifact_pages,
    model_pages,
    governance_pages,
    data_pages,
    monitor_pages,
):
    router.include_router(module.router)


@router.get("/ui/{unknown:path}")
@page
def unknown_page(request: Request, unknown: str) -> Response:
    raise NotFound(f"the UI has no page {'/ui/' + unknown[:200]!r}; start from /ui/")
