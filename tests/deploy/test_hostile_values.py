"""Bad values for `knot deploy kubernetes`: exit 2, one line naming the key, the value
and the fix, no manifest written, and never a credential repeated back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from knot.serving.deploy.values import DeployValues, credential_paths
from tests.cli.knot_process import assert_error, run
from tests.deploy.values import VALUES, write_values

CHURN: dict[str, Any] = {"ref": "models:/churn@champion"}

HOSTILE: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "bad model name": (
        {"models": [{"ref": "models:/bad name!"}]},
        ("models.0.ref", "'bad name!'", "letters, digits"),
    ),
    "not a model reference": (
        {"models": [{"ref": "churn.pkl"}]},
        ("models.0.ref", "models:/NAME@ALIAS", "oci://"),
    ),
    "bad image reference": (
        {"image": "Registry.example.com/Knot Runtime:0.4"},
        ("image", "'Registry.example.com/Knot Runtime:0.4'", "REPOSITORY:TAG"),
    ),
    "image without a tag": (
        {"image": "registry.example.com/knot/runtime"},
        ("image", "no tag or digest", "pin one"),
    ),
    "two models with one name": (
        {"models": [CHURN, {"ref": "models:/churn/3"}]},
        ("share the Kubernetes name 'churn'", "distinct name"),
    ),
    "a local artifact folder": (
        {"artifacts": {"uri": "file:///var/lib/knot/artifacts"}},
        ("artifacts.uri", "s3://BUCKET/PREFIX"),
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_values_exit_2_and_write_nothing(tmp_path: Path, case: str) -> None:
    changes, needles = HOSTILE[case]
    values = write_values(tmp_path, VALUES, **changes)
    out = tmp_path / "out"
    done = run(tmp_path / "home", "deploy", "kubernetes", "-f", str(values), "-o", str(out))
    assert_error(done, str(values), *needles)
    assert not out.exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"store": "postgresql://knot:hunter2@db.internal/knot"},
        {"artifacts": {"uri": "s3://AKIAX:hunter2@bucket/prefix"}},
    ],
)
def test_a_credential_in_the_values_is_refused_without_echoing_it(
    tmp_path: Path, changes: dict[str, Any]
) -> None:
    values = write_values(tmp_path, VALUES, **changes)
    done = run(tmp_path / "home", "deploy", "kubernetes", "-f", str(values))
    line = assert_error(done, "carries credentials", "Kubernetes Secret", next(iter(changes)))
    assert "hunter2" not in line and "hunter2" not in done.stdout


def test_a_loop_config_of_another_model_is_refused(tmp_path: Path) -> None:
    model = {"ref": "models:/fraud@champion", "loop": {"config": "loop.yaml"}}
    values = write_values(tmp_path, VALUES, models=[model])  # loop.yaml is churn's
    done = run(tmp_path / "home", "deploy", "kubernetes", "-f", str(values))
    assert_error(done, "loop of model 'churn'", "'fraud'", "loop.yaml")


def test_a_missing_values_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    assert_error(run(tmp_path / "home", "deploy", "kubernetes", "-f", str(missing)), str(missing))


def test_an_option_is_checked_like_the_file(tmp_path: Path) -> None:
    values = write_values(tmp_path, VALUES)
    done = run(tmp_path / "home", "deploy", "kubernetes", "-f", str(values), "--model", "oci://")
    assert_error(done, "models.2.ref", "'oci://'")


# The rest of the rules, in process: each names the key and the fix.
RULES: dict[str, tuple[dict[str, Any], str]] = {
    "max below min": ({"models": [{**CHURN, "replicas": 4, "max_replicas": 2}]}, "max_replicas"),
    "bad cron": ({"models": [{**CHURN, "monitor": {"schedule": "hourly"}}]}, "cron"),
    "kit without its model": (
        {"models": [{"ref": "oci://r.example.com/k/fraud:1", "monitor": {}}]},
        "registered_model",
    ),
    "secret name": ({"store": {"secret": {"name": "Knot_Store", "key": "url"}}}, "Secret name"),
    "quantity": ({"server": {"resources": {"memory": "lots"}}}, "resource quantity"),
    "too long a name": ({"models": [{"ref": f"models:/{'m' * 60}"}]}, "Kubernetes name"),
    "server without its token": (
        {"store": {"secret": {"name": "s", "key": "url"}, "components": "server"}},
        "auth.token_secret",
    ),
    "unknown key": ({"replica": 3}, "replica"),
}


@pytest.mark.parametrize("case", sorted(RULES))
def test_every_rule_names_its_fix(case: str) -> None:
    changes, needle = RULES[case]
    data = {**VALUES, **changes}
    if case == "server without its token":
        data["auth"] = {"enabled": True}
    with pytest.raises(ValueError, match=needle):
        DeployValues.model_validate(data)


def test_credential_paths_finds_nested_urls() -> None:
    data = {"a": [{"b": "https://u:p@host"}], "c": "https://host/x@y", "d": 3}
    assert credential_paths(data) == ["a.0.b"]
