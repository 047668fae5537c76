"""Every report Knot draws comes out of the one shell (knot.page): the same head and
marker, its title, plotly.js from the installed package inside the page (never from a
network), well-nested markup, and hostile names shown as text, never as markup."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import knot
from knot.data.profile import compute_profile
from knot.data.profile_html import profile_page
from knot.gates.html import check_page
from knot.gates.report import CheckReport, GateResult
from knot.governance.lineage_graph import LineageEdge, LineageGraph, LineageNode
from knot.governance.lineage_html import lineage_page
from knot.monitoring.alerts.events import AlertEvent
from knot.monitoring.alerts.rules import AlertRule
from knot.monitoring.monitor_run import WindowDrift
from knot.monitoring.report_html import monitor_page
from knot.monitoring.results import ResultPoint
from knot.page import GENERATOR, plotly_js
from knot.pipelines.html import pipeline_page
from knot.pipelines.result import PipelineResult, StepResult
from knot.registry.cards.card_html import card_page
from knot.registry.cards.content import Card, Section
from knot.tracking.compare.compare import Comparison
from knot.tracking.compare.compare_html import compare_page
from knot.tracking.entities import Run, RunStatus
from tests.page.parsed import parse

# a name a user could give a column, a step, a run or a model; it must stay text
HOSTILE = "<img src=x onerror=alert(1)>"
HOUR = 3_600_000


def _frames(shift: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    ref = pd.DataFrame({HOSTILE: rng.normal(0, 1, 400), "plan": rng.choice(["a", "b"], 400)})
    cur = pd.DataFrame({HOSTILE: rng.normal(shift, 1, 400), "plan": rng.choice(["a", "b"], 400)})
    return ref, cur


def _profile(tmp: Path) -> tuple[str, str]:
    ref, _ = _frames(0.0)
    ref.to_parquet(tmp / "p.parquet")
    page = profile_page(compute_profile(tmp / "p.parquet"), title=f"Profile of {HOSTILE}")
    return page.to_html(), f"Profile of {HOSTILE}"


def _drift(tmp: Path) -> tuple[str, str]:
    report = knot.drift(*_frames(1.0))
    assert report.dataset_drifted
    # the public path: the report's own method draws it through the shell
    return report.to_html(title=f"Drift of {HOSTILE}"), f"Drift of {HOSTILE}"


def _monitoring(tmp: Path) -> tuple[str, str]:
    latest = WindowDrift(
        version=2, window="1h", window_start=HOUR, reference="dataset:churn@1",
        report=knot.drift(*_frames(1.0)),
    )  # fmt: skip
    points = [
        ResultPoint(
            model="churn", version=2, window="1h", window_start=h * HOUR,
            window_end=(h + 1) * HOUR, metric="drift.share", value=v,
        )
        for h, v in enumerate([0.0, 0.5, 1.0])
    ]  # fmt: skip
    rule = AlertRule(name="drifting", model="churn", metric="drift.share", threshold=0.4)
    event = AlertEvent(
        id="e1", rule="drifting", model="churn", version=2, metric="drift.share",
        state="fired", value=0.5, threshold=0.4, window_start=HOUR, window_end=2 * HOUR,
        at_ms=2 * HOUR, webhook_status=f"failed: {HOSTILE}",
    )  # fmt: skip
    page = monitor_page("churn", latest=latest, points=points, rules=[rule], events=[event])
    return page.to_html(), "Monitoring: churn"


def _lineage(tmp: Path) -> tuple[str, str]:
    root = LineageNode(kind="dataset", id=HOSTILE, layer=0)
    run = LineageNode(kind="run", id="a" * 32, layer=1)
    edge = LineageEdge(
        from_kind="dataset", from_id=HOSTILE, relation="input", to_kind="run",
        to_id="a" * 32, created_at=0,
    )  # fmt: skip
    graph = LineageGraph(root=root, direction="down", depth=3, nodes=[root, run], edges=[edge])
    return lineage_page(graph).to_html(), f"Lineage: dataset {HOSTILE}"


def _card(tmp: Path) -> tuple[str, str]:
    card = Card(
        title=f"Model card: {HOSTILE} v1",
        summary="a test card",
        sections=[Section(title="Metrics", columns=("metric", "value"), rows=((HOSTILE, "1"),))],
        metrics={"auc": 0.9, HOSTILE: 0.5, "broken": float("nan")},
    )
    return card_page(card).to_html(), f"Model card: {HOSTILE} v1"


def _compare(tmp: Path) -> tuple[str, str]:
    runs = [
        Run(run_id=f"{i}" * 32, experiment_id="1", name=f"{HOSTILE}{i}",
            status=RunStatus.FINISHED, start_time=0, user="tester")
        for i in range(2)
    ]  # fmt: skip
    result = Comparison(
        runs=runs, params={"C": ["1", "2"], "seed": ["0", "0"]}, metrics={"auc": [0.8, 0.9]}
    )
    return compare_page(result).to_html(), "Run comparison"


def _check(tmp: Path) -> tuple[str, str]:
    gate = GateResult(
        kind="fairness", name=f"fairness by {HOSTILE}", passed=False, summary="gap 0.4",
        details=[f"group {HOSTILE} exceeds max_gap 0.1"],
        data={"groups": [{"group": HOSTILE, "rate": 0.9, "rows": 10},
                         {"group": "B", "rate": 0.5, "rows": 12}]},
    )  # fmt: skip
    page = check_page(CheckReport(config="knot-check.yaml", gates=[gate]))
    return page.to_html(), "knot check: 1 gate(s) failed"


def _pipeline(tmp: Path) -> tuple[str, str]:
    steps = [
        StepResult(name=HOSTILE, status="ran", run_id="r1", cache_key="k", seconds=0.5,
                   attempts=1, started_at=1_000),
        StepResult(name="shout", status="cached", run_id="r2", cache_key="k2", seconds=0.0,
                   attempts=1, started_at=1_600, upstream=(HOSTILE,)),
    ]  # fmt: skip
    result = PipelineResult(pipeline="greeting", run_id="f" * 32, status="finished", steps=steps)
    return pipeline_page(result).to_html(), f"Pipeline greeting run {'f' * 32}"


REPORTS: dict[str, Callable[[Path], tuple[str, str]]] = {
    "profile": _profile,
    "drift": _drift,
    "monitoring": _monitoring,
    "lineage": _lineage,
    "model-card": _card,
    "compare": _compare,
    "check": _check,
    "pipeline": _pipeline,
}


@pytest.mark.parametrize("kind", sorted(REPORTS))
def test_every_report_is_drawn_in_the_shell(kind: str, tmp_path: Path) -> None:
    page, title = REPORTS[kind](tmp_path)
    parsed = parse(page)
    assert parsed.errors == []
    assert page.startswith("<!doctype html>")
    assert parsed.meta["generator"] == GENERATOR
    assert parsed.body["data-report"] == kind
    assert parsed.title == title and parsed.h1 == [title]
    # plotly.js: the installed package's bundle, once, in the page; nothing fetched
    assert parsed.script_srcs == []
    assert page.count(plotly_js()) == 1
    assert page.index(plotly_js()) < page.index("<body")
    assert "Plotly.newPlot" in page
    # a hostile name is text: escaped where it is shown, never an element
    assert HOSTILE not in page and "img" not in parsed.tags
    assert html.escape(HOSTILE) in page


def test_each_kind_fills_the_shell_with_its_own_content() -> None:
    """The shared checks above would pass on one kind's page fed to all; these would
    not: the run comparison flags the param that differs, the check nests its details."""
    compare, _ = _compare(Path())
    assert parse(compare).h2 == ["Params (highlighted: differ)"]
    assert '<tr class="flag"><td>C</td>' in compare and "<tr><td>seed</td>" in compare
    check, _ = _check(Path())
    assert parse(check).h2 == ["Gates"]
    assert f"<ul><li>group {html.escape(HOSTILE)} exceeds max_gap 0.1</li></ul>" in check
    card, _ = _card(Path())
    assert parse(card).h2 == ["Metrics"]


def test_the_names_the_examples_once_used_still_write_shell_pages(tmp_path: Path) -> None:
    from knot.data.profile_html import write_profile_html
    from knot.tracking.compare.compare_html import write_html

    pd.DataFrame({"x": [1.0, 2.0, 3.0]}).to_parquet(tmp_path / "p.parquet")
    profile = compute_profile(tmp_path / "p.parquet")
    with pytest.warns(DeprecationWarning, match=r"profile_page\(profile, title\)"):
        written = write_profile_html(profile, tmp_path / "p.html", "P")
    assert parse(written.read_text()).body["data-report"] == "profile"
    result = Comparison(runs=[], params={}, metrics={})
    with pytest.warns(DeprecationWarning, match=r"compare_page\(result\)"):
        written = write_html(result, tmp_path / "c.html")
    assert parse(written.read_text()).body["data-report"] == "compare"
