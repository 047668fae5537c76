"""Every run argument of the installed `knot` takes a unique prefix of the run id."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import knot
from knot.tracking.fluent import session
from tests.cli.knot_process import assert_error, assert_ok, prepared_home, run

# two ids that share the prefix "ab12"
TWINS = ["ab12" + "0" * 28, "ab12" + "f" * 28]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with prepared_home(tmp_path_factory, "prefix") as home:
        for i in range(3):
            with knot.start_run(f"r{i}", experiment="prefix") as r:
                r.log_params({"lr": i})
                r.log_metric("loss", 1.0 / (i + 1), step=0)
                r.log_metric("loss", 0.5 / (i + 1), step=1)
        store = session().store
        exp = store.get_experiment_by_name("prefix")
        assert exp is not None
        for run_id in TWINS:
            store.create_run(exp.experiment_id, user="tester", run_id=run_id)
        yield home


def _ids(home: Path) -> list[str]:
    out = assert_ok(run(home, "runs", "list", "--json"))
    return [r["run_id"] for r in json.loads(out)]


def test_show_history_and_compare_take_prefixes(home: Path) -> None:
    ids = [i for i in _ids(home) if i not in TWINS]
    short = [i[:8] for i in ids]
    assert ids[0] in assert_ok(run(home, "runs", "show", short[0]))
    assert "0.5" in assert_ok(run(home, "runs", "history", short[1], "loss"))
    table = assert_ok(run(home, "runs", "compare", *short))
    assert all(s in table for s in short)


def test_ambiguous_and_unknown_prefixes_exit_2_naming_the_matches(home: Path) -> None:
    ids = _ids(home)
    assert_error(run(home, "runs", "show", "ab12"), "matches several runs", *TWINS)
    assert_error(run(home, "runs", "history", "ab12", "loss"), "matches several runs")
    first = [i[0] for i in ids]
    unused = next(c for c in "0123456789abcdef" if c not in first)
    assert_error(run(home, "runs", "show", unused), f"no run id starts with '{unused}'")
    assert_error(run(home, "runs", "compare", ids[0], "zz"), "not a run id")


def test_version_names_the_stores_in_use_without_their_password(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = "postgresql://knot:s3cret@db.example:5432/knot"
    done = run(home, "--version", KNOT_STORE=store)
    assert assert_ok(done).strip() == knot.__version__
    assert "store: postgresql://knot:***@db.example:5432/knot" in done.stderr
    assert "s3cret" not in done.stderr
    plain = run(home, "--version")
    assert f"store: sqlite:///{home}" in plain.stderr and "artifacts: " in plain.stderr


def test_long_commands_say_which_store_they_work_on(home: Path, tmp_path: Path) -> None:
    flow = tmp_path / "flow.py"
    flow.write_text(
        "import knot\n\n@knot.step\ndef one() -> int:\n    return 1\n\n"
        "@knot.pipeline\ndef tiny():\n    return one()\n"
    )
    out = assert_ok(run(home, "pipeline", "run", f"{flow}:tiny"))
    assert (
        out.splitlines()[0] == f"store sqlite:///{home}/knot.db · artifacts file://{home}/artifacts"
    )
    assert "store " not in assert_ok(run(home, "pipeline", "run", f"{flow}:tiny", "--json"))
