"""MLflow's routes found by one dict lookup, ahead of the app's route list.

MLflow's client makes one HTTP request per logged metric, param or tag, so the server's
fixed cost per request is most of what a training loop waits for. FastAPI matches a path
by trying the app's routes in order (Knot's own API first, the MLflow ones last) and then
solves each route's dependencies; this route, first in the list, answers an exact MLflow
path with the same endpoint at once. The auth middleware and the error handlers still
wrap it; the app-wide Authorize dependency (the role check of `knot server --auth`) is
called here as FastAPI would. A path with parameters, a method the path does not serve
or an app with other app-wide dependencies falls through to the normal routing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send

from knot.server.auth import Authorize
from knot.server.mlflow.routing import EXACT

__all__ = ["install_fast_path"]


class _ExactRoutes(BaseRoute):
    def __init__(self, app: FastAPI) -> None:
        self.app_ = app
        self._checks: list[Callable[[Request], Any]] | None = None

    def checks(self) -> list[Callable[[Request], Any]] | None:
        """The app-wide dependencies to call, or None when one is not an Authorize (its
        request-time arguments are FastAPI's to solve, so the normal routing must)."""
        if self._checks is None:
            found = [d.dependency for d in self.app_.router.dependencies]
            if not all(isinstance(d, Authorize) for d in found):
                return None
            self._checks = [d for d in found if d is not None]
        return self._checks

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and not scope.get("root_path"):
            found = EXACT.get((scope["method"], scope["path"]))
            if found is not None and self.checks() is not None:
                endpoint, route = found
                return Match.FULL, {"endpoint": endpoint, "route": route, "path_params": {}}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        for check in self.checks() or ():
            check(request)  # a KnotError (403) goes to the app's handlers, as from FastAPI
        response = await scope["endpoint"](request)
        await response(scope, receive, send)


def install_fast_path(app: FastAPI) -> None:
    """Put the exact MLflow routes first in `app`'s route list."""
    app.router.routes.insert(0, _ExactRoutes(app))
