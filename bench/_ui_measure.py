"""How the web UI bench times a page: one request's server time, the requests a page
makes in parallel, and a page rendered in Chromium (Debian's, through Playwright).

Every measurement is one round; bench/ui.py interleaves the rounds of Knot and MLflow
(bench/interleave.py). A browser tab navigates to about:blank before each round, so an
MLflow URL that differs only in its #fragment still loads the page anew, and static
files (plotly.js, MLflow's bundle) come from the cache as for a returning visitor."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import httpx

__all__ = [
    "KNOT_DRAWN",
    "Call",
    "browser",
    "calls_time",
    "mlflow_metric_page",
    "mlflow_runs_page",
    "rendered_time",
]

CHROMIUM = "/usr/bin/chromium"
PAGE_TIMEOUT_MS = 180_000
# Chromium opens at most 6 connections to one host; the page's requests share them
BROWSER_CONNECTIONS = 6
# Knot's pages draw their Plotly figures after `load`; every figure marks itself drawn
KNOT_DRAWN = (
    "Array.from(document.querySelectorAll('div.figure div.plot'))"
    ".every(p => p.getAttribute('data-drawn') === '1')"
)

Call = tuple[str, str, Any]  # method, URL, JSON body or None


def _one(client: httpx.Client, call: Call) -> int:
    method, url, body = call
    response = client.request(method, url, json=body)
    response.raise_for_status()
    return len(response.content)


def calls_time(client: httpx.Client, calls: list[Call]) -> float:
    """Seconds until every answer of `calls` arrived whole, sent as a browser would:
    at most BROWSER_CONNECTIONS at once."""
    began = time.perf_counter()
    if len(calls) == 1:
        _one(client, calls[0])
    else:
        with ThreadPoolExecutor(BROWSER_CONNECTIONS) as pool:
            list(pool.map(lambda c: _one(client, c), calls))
    return time.perf_counter() - began


@contextlib.contextmanager
def browser() -> Iterator[Any]:
    """One tab of headless Chromium, 1400 x 900."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = launched.new_page(viewport={"width": 1400, "height": 900})
        try:
            yield page
        finally:
            launched.close()


def rendered_time(page: Any, url: str, ready: str | None = None, text: str | None = None) -> float:
    """Seconds from navigating to `url` until it is shown: the `load` event, then the
    JavaScript condition `ready` holds and `text` is visible (each if given)."""
    page.goto("about:blank")
    began = time.perf_counter()
    page.goto(url, wait_until="load", timeout=PAGE_TIMEOUT_MS)
    if ready is not None:
        page.wait_for_function(ready, timeout=PAGE_TIMEOUT_MS)
    if text is not None:
        page.get_by_text(text, exact=True).first.wait_for(timeout=PAGE_TIMEOUT_MS)
    return time.perf_counter() - began


def mlflow_runs_page(base: str, experiment_id: str, order: str | None, filter: str | None) -> str:
    """MLflow's experiment page (its runs table), sorted and filtered as its URL says."""
    url = f"{base}/#/experiments/{experiment_id}/runs"
    query = []
    if filter:
        query.append(f"searchFilter={quote(filter)}")
    if order:
        query += [f"orderByKey={quote(order)}", "orderByAsc=false"]
    return url + ("?" + "&".join(query) if query else "")


def mlflow_metric_page(base: str, experiment_id: str, run_ids: list[str], key: str) -> str:
    """MLflow's metric page: `key`'s step curves of several runs overlaid, the URL built
    the way its UI builds it (Routes.getMetricPageRoute)."""

    def js(value: object) -> str:
        return quote(json.dumps(value, separators=(",", ":")))

    query = {
        "runs": js(run_ids),
        "metric": js(key),
        "experiments": js([experiment_id]),
        "plot_metric_keys": js([key]),
        "plot_layout": js({}),
        "x_axis": "step",
        "y_axis_scale": "linear",
        "line_smoothness": "1",
        "show_point": "false",
        "deselected_curves": js([]),
        "last_linear_y_axis_range": js([]),
    }
    return f"{base}/#/metric?" + "&".join(f"{k}={v}" for k, v in query.items())
