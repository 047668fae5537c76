"""The report shell itself: what a page holds, how it loads plotly.js (inside the page,
or from a local path; never from a network), and that a page is written whole."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from knot.errors import Invalid
from knot.page import GENERATOR, Html, Page, escape, plotly_js
from tests.cli.knot_process import assert_error, assert_ok, run
from tests.page.parsed import parse


def _figure() -> object:
    import plotly.graph_objects as go

    return go.Figure(go.Bar(x=["a", "b"], y=[1, 2]))


def test_a_page_without_figures_loads_no_plotly() -> None:
    page = Page("Plain & simple", kind="test", subtitle="a <subtitle>")
    page.section("Numbers").table(["name", "value"], [["a", 1], ["b", None]], numbers=True)
    page.section().text("beware <b>", style="note").bullets(["one", ("two", ["2a", "2b"])])
    text = page.to_html()
    parsed = parse(text)
    assert parsed.errors == [] and parsed.meta["generator"] == GENERATOR
    assert parsed.title == "Plain & simple" and parsed.h1 == ["Plain & simple"]
    assert parsed.h2 == ["Numbers"] and parsed.body == {"data-report": "test"}
    assert "script" not in parsed.tags and plotly_js()[:100] not in text
    assert '<p class="subtitle">a &lt;subtitle&gt;</p>' in text
    assert '<table class="numbers">' in text and "<tr><td>b</td><td></td></tr>" in text
    assert '<p class="note">beware &lt;b&gt;</p>' in text
    assert "<li>two<ul><li>2a</li><li>2b</li></ul></li>" in text


def test_markup_is_put_as_it_is_only_when_marked() -> None:
    assert escape("<i>") == "&lt;i&gt;" and escape(Html("<i>x</i>")) == "<i>x</i>"
    assert escape(None) == ""
    page = Page("t", kind="test")
    page.section().html(Html('<form method="post"></form>')).text(Html("<i>kept</i>"))
    parsed = parse(page.to_html())
    assert parsed.errors == [] and {"form", "i"} <= set(parsed.tags)


def test_figures_share_one_bundle_inside_the_page() -> None:
    page = Page("Charts", kind="test")
    page.section("Side by side", grid=True).figure(_figure()).figure(_figure())
    text = page.to_html()
    parsed = parse(text)
    assert parsed.errors == [] and parsed.script_srcs == []
    assert text.count(plotly_js()) == 1 and text.count("Plotly.newPlot") == 2
    assert text.count("plotly-graph-div") == 2 and '<div class="grid">' in text


def test_a_server_can_serve_the_bundle_from_a_local_path() -> None:
    page = Page("Charts", kind="test")
    page.section().figure(_figure())
    text = page.to_html(plotly="/static/plotly.min.js")
    assert parse(text).script_srcs == ["/static/plotly.min.js"]
    assert plotly_js()[:100] not in text and "Plotly.newPlot" in text
    assert plotly_js().startswith("/**") and "plotly.js" in plotly_js()[:200]


@pytest.mark.parametrize(
    "source",
    ["https://cdn.plot.ly/plotly-2.35.2.min.js", "http://example.com/p.js",
     "//cdn.example.com/p.js", "javascript:alert(1)", "  "],
)  # fmt: skip
def test_a_network_plotly_source_is_refused_and_nothing_written(
    source: str, tmp_path: Path
) -> None:
    page = Page("Charts", kind="test")
    page.section().figure(_figure())
    with pytest.raises(Invalid, match=r"not a local path.*plotly='inline'") as caught:
        page.write_html(tmp_path / "p.html", plotly=source)
    assert repr(source) in caught.value.message
    assert list(tmp_path.iterdir()) == []


def test_a_page_is_written_whole_over_the_old_one(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "report.html"
    first = Page("first", kind="test")
    assert first.write_html(target) == target
    assert parse(target.read_text(encoding="utf-8")).title == "first"
    Page("second", kind="test").write_html(str(target))
    assert parse(target.read_text(encoding="utf-8")).title == "second"
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]  # no temp file left


def test_writing_into_a_folder_names_it_and_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "kept.txt").write_text("x")
    with pytest.raises(IsADirectoryError) as caught:
        Page("t", kind="test").write_html(tmp_path)
    assert caught.value.filename == str(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["kept.txt"]


def test_the_installed_knot_writes_a_drift_page_in_the_shell(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    pd.DataFrame({"x": rng.normal(size=500)}).to_parquet(tmp_path / "ref.parquet")
    pd.DataFrame({"x": rng.normal(2.0, 1.0, 500)}).to_parquet(tmp_path / "cur.parquet")
    home, out = tmp_path / "home", tmp_path / "out" / "drift.html"
    files = [str(tmp_path / "ref.parquet"), str(tmp_path / "cur.parquet")]
    assert_ok(run(home, "monitor", "drift", *files, "--html", str(out)))
    parsed = parse(out.read_text(encoding="utf-8"))
    assert parsed.errors == [] and parsed.meta["generator"] == GENERATOR
    assert parsed.body["data-report"] == "drift" and parsed.script_srcs == []
    assert_error(
        run(home, "monitor", "drift", *files, "--html", str(tmp_path)),
        f"Is a directory: {tmp_path}",
        "check the path",
    )
