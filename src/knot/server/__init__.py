"""The REST server: a FastAPI app over the tracking store (`create_app`) and the process
that serves it (`run_server`). Imports stay inside functions so `knot --help` stays fast."""

from __future__ import annotations

__all__: list[str] = []
