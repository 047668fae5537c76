"""`monitor_run`: drift of each version's window against the dataset its training run
read (found in lineage) or a configured reference, performance from late labels, all
stored per window, and the alert rules evaluated on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import knot
from knot.errors import Invalid
from knot.monitoring.alerts.events import alert_events, list_alert_rules
from knot.monitoring.monitor_config import apply_config, get_monitor_settings, load_config
from knot.monitoring.monitor_run import monitor_run, training_reference
from knot.monitoring.results import read_results
from knot.serving.logs.labels import append_labels
from tests.monitoring.logs import HOUR, write_predictions
from tests.serving.models import Threshold

NOW = 1_780_000_000_000 - 1_780_000_000_000 % HOUR + HOUR // 2  # half-way into a window


def _training_frame(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "tenure": rng.normal(20, 5, n),
            "plan": rng.choice(["basic", "pro"], n),
            "seats": rng.integers(1, 10, n),
        }
    )


@pytest.fixture
def churn(knot_home: Path) -> Path:
    """`churn` version 1, trained on dataset churn@1 (read inside its run)."""
    return _train(knot_home)


@pytest.fixture
def churn_any_store(monitor_store: str, knot_home: Path) -> Path:
    """`churn` as above, on SQLite, PostgreSQL and the live server (whose client reads
    the reference dataset through the server's data routes)."""
    return _train(knot_home)


def _train(knot_home: Path) -> Path:
    knot.register_dataset("churn", _training_frame())
    with knot.start_run(experiment="churn"):
        knot.load_dataset("churn")
        knot.log_model(
            Threshold(20.0),
            registered_model_name="churn",
            input_example=_training_frame(2),
        )
    return knot_home


def _serve(home: Path, *, shift: float, start: int, n: int = 500, seed: int = 1) -> list[str]:
    rng = np.random.default_rng(seed)
    tenure = rng.normal(20 + shift, 5, n)
    ids = [f"r{start}-{i}" for i in range(n)]
    write_predictions(
        home / "predictions",
        "churn",
        1,
        request_ids=ids,
        timestamps=[start + i for i in range(n)],
        features={
            "tenure": tenure,
            "plan": rng.choice(["basic", "pro"], n).tolist(),
            "seats": rng.integers(1, 10, n),
        },
        predictions=(tenure > 20).astype(np.int64),
    )
    return ids


def test_reference_is_found_through_lineage(churn: Path) -> None:
    assert training_reference("churn", 1) == "dataset:churn@1"
    assert training_reference("churn", 9) is None


def test_a_pass_stores_drift_and_performance_and_fires_rules(
    churn_any_store: Path, tmp_path: Path
) -> None:
    churn = churn_any_store
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "model: churn\n"
        "rules:\n"
        "  - {name: drifting, metric: drift.share, op: '>=', threshold: 0.3}\n"
        "  - {name: tenure, metric: drift.tenure, op: '>', threshold: 0.2, window: 1h}\n"
        "  - {name: bad, metric: accuracy, op: '<', threshold: 0.9, consecutive: 2}\n"
    )
    apply_config(load_config(rules))
    start = NOW - NOW % HOUR
    quiet = _serve(churn, shift=0.0, start=start - HOUR, seed=2)
    first = monitor_run("churn", now_ms=NOW)
    assert {d.window_start for d in first.drift} == {start - HOUR}
    assert first.drift[0].reference == "dataset:churn@1"
    assert not first.drift[0].report.dataset_drifted
    assert first.events == []
    _serve(churn, shift=8.0, start=start)  # the current window: tenure shifted
    second = monitor_run("churn", now_ms=NOW)
    assert {e.rule for e in second.events} == {"drifting", "tenure"}
    share = read_results("churn", metric="drift.share", window="1h")
    (now,) = [d.report for d in second.drift if d.window_start == start]
    assert "tenure" in now.drifted_columns and "plan" not in now.drifted_columns
    assert [(p.window_start, p.value) for p in share] == [
        (start - HOUR, 0.0),
        (start, now.share_drifted),
    ]
    (tenure,) = read_results("churn", metric="drift.tenure", since_ms=start)
    assert tenure.detail is not None and tenure.detail["drifted"] is True
    # labels arrive late for the earlier window: its accuracy is recomputed
    append_labels("churn", [{"request_id": r, "label": 1} for r in quiet])
    third = monitor_run("churn", now_ms=NOW)
    (acc,) = read_results("churn", metric="accuracy", since_ms=start - HOUR, window="1h")[:1]
    assert acc.window_start == start - HOUR and acc.value is not None and acc.value < 0.9
    assert [e.rule for e in third.events] == []  # one bad window of two needed
    assert [e.rule for e in alert_events("churn", state="fired")] == ["drifting", "tenure"]


def test_a_configured_reference_wins_and_missing_ones_are_noted(churn: Path) -> None:
    knot.register_dataset("shifted", _training_frame().assign(tenure=lambda f: f.tenure + 8))
    start = NOW - NOW % HOUR
    _serve(churn, shift=8.0, start=start)
    apply_config(load_config_text("model: churn\nreference: dataset:shifted@1\nrules: []\n"))
    (found,) = monitor_run("churn", now_ms=NOW).drift
    assert found.reference == "dataset:shifted@1" and not found.report.dataset_drifted


def test_a_version_without_training_data_is_noted(knot_home: Path) -> None:
    knot.log_model(Threshold(20.0), registered_model_name="churn", input_example=_training_frame(2))
    _serve(knot_home, shift=0.0, start=NOW - NOW % HOUR)
    result = monitor_run("churn", now_ms=NOW)
    assert result.drift == [] and "logged no dataset" in result.notes[0]
    assert read_results("churn", metric="served_rows")[0].value == 500


def load_config_text(text: str) -> object:
    import yaml

    from knot.monitoring.monitor_config import parse_config

    return parse_config(yaml.safe_load(text))


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("model: churn\nrules: [{name: a, metric: nope, threshold: 1}]\n", "metric"),
        ("model: churn\nrules: [{name: a, metric: rows, threshold: 1, model: other}]\n", "rules"),
        (
            "model: churn\nrules:\n- {name: a, metric: rows, threshold: 1}\n"
            "- {name: a, metric: rows, threshold: 2}\n",
            "rules",
        ),
        ("model: churn\nreference: churn@1\n", "reference"),
        ("model: churn\nwindow: often\n", "window"),
        ("model: churn\ncolour: red\n", "colour"),
        ("model: 'a b'\n", "model"),
        ("- just a list\n", "model"),
        ("model: churn\nrules: {a: 1}\n", "rules"),
    ],
)
def test_bad_rule_files_change_nothing(
    knot_home: Path, tmp_path: Path, text: str, field: str
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(Invalid) as caught:
        apply_config(load_config(path))
    assert caught.value.field == field
    assert list_alert_rules() == [] and get_monitor_settings("churn").reference is None


def test_bad_run_options(knot_home: Path) -> None:
    with pytest.raises(Invalid) as caught:
        monitor_run("churn", lookback=0)
    assert caught.value.field == "lookback"
    with pytest.raises(Invalid) as caught:
        monitor_run("churn", window="later")
    assert caught.value.field == "window"


def test_a_reference_that_cannot_be_read_is_noted(churn: Path) -> None:
    apply_config(load_config_text("model: churn\nreference: dataset:ghost@1\n"))
    _serve(churn, shift=0.0, start=NOW - NOW % HOUR)
    result = monitor_run("churn", now_ms=NOW)
    assert result.drift == [] and "ghost" in result.notes[0]
    assert result.performance[0].rows == 500  # the rest of the pass still ran


def test_rule_file_errors_for_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(Invalid, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("model: [unclosed\n")
    with pytest.raises(Invalid, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")
