"""The canary judge's decision table, in-process: lower- and higher-is-better metrics
against a limit and against the champion, ties, too few labels per arm (with the message
that says where labels come from), undefined metrics, and the canary settings refused
with the key named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from knot.errors import Invalid
from knot.loop.canary import Arm, CanaryReading, judge
from knot.loop.config import CanaryConfig, load_loop_config


def canary(**settings: Any) -> CanaryConfig:
    base: dict[str, Any] = {"weight": 0.5, "watch_seconds": 60, "max_watch_seconds": 600}
    return CanaryConfig.model_validate({**base, "min_labeled": 50, **settings})


def reading(metric: str, ours: Arm, theirs: Arm | None = None) -> CanaryReading:
    return CanaryReading(metric, ours, theirs)


MAE = canary(metric="mae", min_margin=0.0)
AUC = canary(metric="roc_auc", min_margin=0.01)


@pytest.mark.parametrize(
    ("config", "ours", "theirs", "action"),
    [
        # lower is better: a smaller MAE wins, a larger one loses, a tie passes margin 0
        (MAE, 2.2, 4.4, "promote"),
        (MAE, 4.4, 2.2, "rollback"),
        (MAE, 3.0, 3.0, "promote"),
        (canary(metric="mae", min_margin=0.5), 3.7, 4.0, "rollback"),  # better, not enough
        (canary(metric="mae", min_margin=-0.5), 4.3, 4.0, "promote"),  # worse, tolerated
        (canary(metric="rmse", min_margin=0.0), 5.0, 5.1, "promote"),
        # higher is better: a larger AUC or R2 wins
        (AUC, 0.81, 0.78, "promote"),
        (AUC, 0.785, 0.78, "rollback"),  # better by 0.005 < min_margin 0.01
        (AUC, 0.70, 0.78, "rollback"),
        (canary(metric="r2", min_margin=0.0), 0.6, 0.6, "promote"),
        (canary(metric="r2", min_margin=0.0), 0.5, 0.6, "rollback"),
        (canary(metric="error_rate", min_margin=0.0), 0.10, 0.12, "promote"),
        (canary(metric="accuracy", min_margin=0.0), 0.88, 0.90, "rollback"),
    ],
)
def test_against_the_champion_the_better_direction_comes_from_the_metric(
    config: CanaryConfig, ours: float, theirs: float, action: str
) -> None:
    verdict = judge(config, reading(config.metric, Arm(80, ours), Arm(90, theirs)), 120)
    assert verdict.action == action, verdict.reason
    assert verdict.reason.startswith(f"live {config.metric} {ours:.3f} vs champion {theirs:.3f}")
    assert "over 80 and 90 labeled requests" in verdict.reason
    assert f"min_margin {config.min_margin:g}" in verdict.reason


def test_the_comparison_is_made_only_after_watch_seconds() -> None:
    early = judge(MAE, reading("mae", Arm(80, 9.0), Arm(90, 2.0)), 30)
    assert (early.action, early.reason) == ("wait", "watching (30/60 s)")


@pytest.mark.parametrize(
    ("metric", "limit", "value", "breached"),
    [
        ("mae", 3.0, 3.5, True),
        ("mae", 3.0, 3.0, False),  # at the limit is allowed
        ("mae", 3.0, 2.5, False),
        ("roc_auc", 0.7, 0.65, True),
        ("roc_auc", 0.7, 0.7, False),
        ("r2", 0.5, 0.2, True),
        ("log_loss", 0.4, 0.45, True),
    ],
)
def test_a_limit_rolls_back_at_once_or_lets_it_through(
    metric: str, limit: float, value: float, breached: bool
) -> None:
    config = canary(metric=metric, limit=limit)
    early = judge(config, reading(metric, Arm(60, value)), 1)
    late = judge(config, reading(metric, Arm(60, value)), 61)
    if breached:
        side = ">" if metric in ("mae", "log_loss") else "<"
        # a breach does not wait for watch_seconds
        assert early == late
        assert early.action == "rollback"
        assert early.reason == (
            f"live {metric} {value:.3f} {side} limit {limit:g} over 60 labeled challenger requests"
        )
    else:
        assert early.action == "wait"
        assert late.action == "promote", late.reason
        side = "<=" if metric in ("mae", "log_loss") else ">="
        assert late.reason.startswith(f"live {metric} {value:.3f} {side} limit {limit:g}")


def test_max_error_rate_is_the_limit_of_error_rate() -> None:
    config = canary(max_error_rate=0.2)
    assert (config.metric, config.bound, config.bound_key) == ("error_rate", 0.2, "max_error_rate")
    verdict = judge(config, reading("error_rate", Arm(50, 0.25), Arm(40, 0.1)), 0)
    assert verdict == judge(config, reading("error_rate", Arm(50, 0.25), Arm(40, 0.1)), 1000)
    assert verdict.reason == (
        "live error_rate 0.250 > max_error_rate 0.2 over 50 labeled challenger requests; "
        "champion 0.100 over 40"
    )


def test_too_few_labels_wait_then_roll_back_saying_where_labels_come_from() -> None:
    short = reading("mae", Arm(12, 1.0, invalid=3), Arm(70, 4.0))
    assert judge(MAE, short, 120) == judge(MAE, short, 599)
    waiting = judge(MAE, short, 120)
    assert (waiting.action, waiting.reason) == ("wait", "12/50 labeled challenger requests so far")
    given_up = judge(MAE, short, 600)
    assert given_up.action == "rollback"
    assert given_up.reason == (
        "only 12 labeled challenger requests after 600 s (3 labels did not fit its "
        "predictions); need 50 — post labels to /feedback or lower canary.min_labeled"
    )
    # a limit is not judged on too few labels either, however bad they look
    limited = canary(metric="mae", limit=3.0)
    assert judge(limited, reading("mae", Arm(49, 99.0)), 0).action == "wait"


def test_each_compared_arm_needs_min_labeled() -> None:
    champion_short = reading("mae", Arm(80, 2.0), Arm(10, 4.0))
    assert judge(MAE, champion_short, 120).reason == "10/50 labeled champion requests so far"
    both = reading("mae", Arm(0, None), Arm(0, None))
    assert judge(MAE, both, 120).reason == (
        "0/50 labeled challenger requests; 0/50 labeled champion requests so far"
    )
    assert judge(MAE, champion_short, 600).reason == (
        "only 10 labeled champion requests after 600 s; need 50 — post labels to /feedback "
        "or lower canary.min_labeled"
    )
    # judged by a limit alone, the champion's labels are not needed
    limited = canary(metric="mae", limit=3.0)
    assert judge(limited, champion_short, 120).action == "promote"


def test_an_undefined_metric_is_waited_for_then_named() -> None:
    one_class = reading("roc_auc", Arm(80, None), Arm(90, 0.8))
    assert judge(AUC, one_class, 120).reason == (
        "roc_auc undefined over 80 labeled challenger requests so far"
    )
    given_up = judge(AUC, one_class, 600)
    assert given_up.action == "rollback"
    assert given_up.reason.startswith(
        "roc_auc is undefined over the 80 labeled challenger requests after 600 s"
    )


def test_without_a_champion_only_the_limit_or_nothing_is_compared() -> None:
    alone = reading("mae", Arm(60, 2.5))
    assert judge(MAE, alone, 120).reason == (
        "live mae 2.500 (no champion to compare with) over 60 labeled challenger requests"
    )


@pytest.mark.parametrize(
    ("settings", "needle"),
    [
        ({"metric": "mape", "limit": 1}, "canary.metric: metric 'mape' is not a known metric"),
        ({"metric": "mae"}, "nothing to judge the canary by: set limit"),
        ({"metric": "mae", "max_error_rate": 0.2}, "max_error_rate is the limit of error_rate"),
        ({"max_error_rate": 0.2, "limit": 0.1}, "set limit or max_error_rate, not both"),
        ({"weight": 1, "metric": "mae", "min_margin": 0}, "weight 1 sends every request"),
        ({"metric": "mae", "limit": 3, "min_labeled": 0}, "canary.min_labeled"),
    ],
)
def test_bad_canary_settings_name_the_key(
    tmp_path: Path, settings: dict[str, Any], needle: str
) -> None:
    path = tmp_path / "loop.yaml"
    data = {"model": "m", "pipeline": "a:b", "canary": {"weight": 0.2, **settings}}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(Invalid, match=needle):
        load_loop_config(path)


def test_min_requests_still_reads_as_min_labeled() -> None:
    config = CanaryConfig.model_validate({"weight": 0.2, "max_error_rate": 0.2, "min_requests": 7})
    assert config.min_labeled == 7
