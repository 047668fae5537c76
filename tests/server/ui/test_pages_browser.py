"""Every UI page in Debian's chromium, on an empty store (auth off) and on a seeded one
(auth on, signed in): it loads with no console error, no failed request and no error
status, its charts draw, and a screenshot of it lands in build/screenshots/ (the README
shows two, kept in docs/screenshots/)."""

from __future__ import annotations

from typing import Any

from tests.server.live import LiveServer
from tests.server.ui.api import experiment_and_runs
from tests.server.ui.conftest import Seeded, Watched, sign_in

EMPTY_PAGES = {
    "empty-experiments": "/",
    "empty-models": "/ui/models",
    "empty-datasets": "/ui/datasets",
    "empty-monitoring": "/ui/monitoring",
    "empty-lineage": "/ui/lineage",
    "empty-audit": "/ui/audit",
    "empty-login": "/ui/login",
}


def test_every_page_of_an_empty_store_loads_clean(empty_server: LiveServer, tab: Watched) -> None:
    for name, path in EMPTY_PAGES.items():
        response = tab.open(empty_server.url + path)
        assert response is not None and response.status == 200, path
        assert tab.page.locator("nav.top").count() == 1
        tab.shot(name)
    assert tab.problems == []


def _seeded_pages(base: str, token: str) -> dict[str, tuple[str, int]]:
    """name -> (path, how many charts it draws)"""
    experiment, runs = experiment_and_runs(base, token)
    first = runs[0]["run_id"]
    three = "&".join(f"run={r['run_id']}" for r in runs[:3])
    return {
        "experiments": ("/ui/experiments", 0),
        "runs": (f"/ui/experiments/{experiment}", 0),
        "run": (f"/ui/runs/{first}", 1),
        "artifact-text": (f"/ui/runs/{first}/artifacts/notes.txt", 0),
        "artifact-table": (f"/ui/runs/{first}/artifacts/table.csv", 0),
        "artifact-image": (f"/ui/runs/{first}/artifacts/plot.png", 0),
        "compare": (f"/ui/compare?{three}", 3),
        "models": ("/ui/models", 0),
        "model": ("/ui/models/churn", 0),
        "datasets": ("/ui/datasets", 0),
        "dataset": ("/ui/datasets/customers", 0),
        "dataset-profile": ("/ui/datasets/customers/profile", 2),
        "dataset-diff": ("/ui/datasets/customers/diff?a=1&b=2", 0),
        "monitoring": ("/ui/monitoring", 0),
        "model-monitoring": ("/ui/monitoring/churn", 0),
        "lineage": ("/ui/lineage?ref=models:/churn/1", 1),
        "audit": ("/ui/audit", 0),
    }


def test_every_page_of_a_seeded_store_loads_clean(
    seeded_server: LiveServer, seeded: Seeded, tab: Watched
) -> None:
    base = seeded_server.url
    sign_in(tab, base, seeded.tokens["alice"])
    for name, (path, charts) in _seeded_pages(base, seeded.tokens["alice"]).items():
        response: Any = tab.open(base + path)
        assert response is not None and response.status == 200, path
        drawn = tab.page.locator("div.plot[data-drawn='1']").count()
        if name == "dataset-profile":
            # the profile is the report page of `knot data profile --html`, its charts
            # drawn by plotly's own inline scripts
            drawn = tab.page.locator("div.report .plotly-graph-div").count()
        assert drawn >= charts, f"{path}: {drawn} charts drawn, expected {charts}"
        tab.shot(name)
    assert tab.problems == []


def test_a_page_without_a_session_asks_to_sign_in(seeded_server: LiveServer, tab: Watched) -> None:
    tab.open(seeded_server.url + "/ui/models")
    assert tab.page.url.startswith(seeded_server.url + "/ui/login?next=")
    assert tab.page.locator("input[name=token]").count() == 1
    assert tab.problems == []
