"""`knot lineage` and `knot.lineage`: trees, JSON and the drawn graph, on the default store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import knot
from knot.cli import app
from knot.config import settings
from knot.governance.lineage import add_edges
from knot.governance.lineage_html import layout
from knot.store.database import Database
from tests.governance.test_lineage import EDGES, RUN_A, RUN_B

runner = CliRunner()


@pytest.fixture
def recorded(knot_home: Path) -> Path:
    db = Database(settings().store_uri)
    with db.write() as conn:
        add_edges(conn, EDGES)
    db.close()
    return knot_home


def test_sdk_returns_the_graph(recorded: Path) -> None:
    graph = knot.lineage("models:/churn/3", direction="up")
    assert isinstance(graph, knot.LineageGraph)
    assert {n.key for n in graph.nodes} >= {"dataset:churn@1", f"run:{RUN_A}"}
    assert all(n.layer <= 0 for n in graph.nodes)


def test_cli_prints_upstream_and_downstream_trees(recorded: Path) -> None:
    out = runner.invoke(app, ["lineage", "models:/churn/3"])
    assert out.exit_code == 0, out.output
    text = out.output
    assert "upstream" in text and "downstream" in text
    assert text.index("upstream") < text.index(RUN_B) < text.index("churn@2")
    assert "-produced->" in text and "-packaged->" in text
    # churn@1 feeds run B directly and through run A: drawn once, then referred to
    assert text.count("(shown above)") == 1


def test_cli_json_and_html(recorded: Path, tmp_path: Path) -> None:
    html = tmp_path / "out" / "lineage.html"
    out = runner.invoke(
        app, ["lineage", "dataset:churn@1", "-d", "down", "--json", "--html", str(html)]
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["root"] == {"kind": "dataset", "id": "churn@1", "layer": 0}
    assert {e["relation"] for e in data["edges"]} == {"input", "output", "produced", "packaged"}
    page = html.read_text()
    assert "plotly" in page.lower() and "churn\\u002f3" in page and "produced" in page
    assert 'src="https://cdn.plot.ly' not in page  # the offline bundle, no network needed


def test_layout_puts_each_layer_in_its_own_column(recorded: Path) -> None:
    graph = knot.lineage("models:/churn/3")
    positions = layout(graph)
    assert positions[graph.root.key][0] == 0
    by_node = {n.key: n.layer for n in graph.nodes}
    assert all(positions[k][0] == layer for k, layer in by_node.items())
    column = [positions[k] for k, layer in by_node.items() if layer == -2]
    assert len(set(column)) == 2  # two datasets in one layer do not overlap


def test_cli_says_when_nothing_is_recorded(recorded: Path) -> None:
    out = runner.invoke(app, ["lineage", "run:" + "f" * 32])
    assert out.exit_code == 0 and "no lineage recorded" in out.output


def test_cli_bad_reference_is_one_clear_error(recorded: Path) -> None:
    out = runner.invoke(app, ["lineage", "models:/bad name/3"])
    assert out.exit_code != 0
    assert "models:/NAME/VERSION" in str(out.exception) or "models:/NAME/VERSION" in out.output


def test_the_installed_cli_takes_a_bare_dataset_version(recorded: Path) -> None:
    """`NAME@V` is how every other command names a dataset version; lineage takes it too."""
    import subprocess
    import sys

    knot_bin = str(Path(sys.executable).parent / "knot")
    done = subprocess.run(
        [knot_bin, "lineage", "churn@1", "-d", "down", "--json"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["root"] == {"kind": "dataset", "id": "churn@1", "layer": 0}
    done = subprocess.run(
        [knot_bin, "lineage", "churn@prod"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 2 and "names no dataset version" in done.stderr
