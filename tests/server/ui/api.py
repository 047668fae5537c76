"""What the UI tests read over the REST API of the seeded server, with a token."""

from __future__ import annotations

from typing import Any

import httpx


def api(base: str, token: str, method: str, path: str, **kwargs: Any) -> Any:
    headers = {"authorization": f"Bearer {token}"}
    response = httpx.request(method, f"{base}/api/v1{path}", headers=headers, timeout=60, **kwargs)
    response.raise_for_status()
    return response.json() if response.content else None


def experiment_and_runs(base: str, token: str) -> tuple[str, list[dict[str, Any]]]:
    """The seeded experiment's id and its runs, by name."""
    experiment = next(e for e in api(base, token, "GET", "/experiments") if e["name"] == "churn")
    found = api(
        base,
        token,
        "POST",
        "/runs/search",
        json={"experiment_ids": [experiment["experiment_id"]], "order_by": ["name"]},
    )
    return experiment["experiment_id"], found["runs"]
