"""Exit codes of the installed `knot` for ModelKit signatures (`knot verify`) and the
retrain loop (`knot retrain`): 0 when the check passes, 1 when it says no, 2 when the
command could not do its work."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import knot
from knot.packaging.pack import pack_folder
from knot.packaging.signing import generate_keys, sign
from tests.cli.knot_process import (
    assert_check_failed,
    assert_error,
    assert_ok,
    prepared_home,
    run,
)
from tests.gates.churn_models import frame, register
from tests.packaging.conftest import write_context


@pytest.fixture(scope="module")
def kits(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """toy:1 signed with signer.key, toy:2 (other bytes) unsigned, and a second key pair
    other.key/.pub beside the home."""
    with prepared_home(tmp_path_factory, "exit-kits") as home:
        files = home.parent
        pack_folder(write_context(files / "signed"), "toy:1")
        unsigned = write_context(files / "unsigned")
        (unsigned / "README.md").write_text("# toy, edited\n", encoding="utf-8")
        pack_folder(unsigned, "toy:2")
        for name in ("signer", "other"):
            generate_keys(files / f"{name}.key", files / f"{name}.pub")
        sign("toy:1", files / "signer.key")
        knot.reset()
        yield home


def test_knot_verify_exits_1_unless_the_key_signed_the_kit(kits: Path) -> None:
    signer, other = str(kits.parent / "signer.pub"), str(kits.parent / "other.pub")
    assert "verified: toy:1" in assert_ok(run(kits, "verify", "toy:1", "--key", signer))
    assert_check_failed(
        run(kits, "verify", "toy:1", "--key", other), "does not verify with the public key"
    )
    assert_check_failed(run(kits, "verify", "toy:2", "--key", signer), "toy:2", "is not signed")
    # no such kit: nothing was checked, so an error, not a verdict
    assert_error(run(kits, "verify", "toy:9", "--key", signer), "toy:9")


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Model churn with a good champion (v1), dataset holdout@1, and a loop.yaml per
    retraining pipeline of tests.loop.loop_pipelines beside the home."""
    with prepared_home(tmp_path_factory, "exit-loop") as home:
        knot.register_dataset("holdout", frame(400, seed=2))
        register("good", alias="champion")
        evaluation = {"dataset": "holdout@1", "label": "y", "metric": "accuracy"}
        for pipeline in ("train_good", "train_worse", "not_a_version"):
            config = {
                "model": "churn",
                "pipeline": f"tests.loop.loop_pipelines:{pipeline}",
                "evaluation": evaluation,
            }
            path = home.parent / f"{pipeline}.yaml"
            path.write_text(yaml.safe_dump(config), encoding="utf-8")
        knot.reset()
        yield home


def test_knot_retrain_exits_1_when_the_challenger_is_rejected(loop: Path) -> None:
    worse = run(loop, "retrain", "churn", "-c", str(loop.parent / "train_worse.yaml"))
    assert_check_failed(worse, ": rejected: primary accuracy: challenger")
    good = run(loop, "retrain", "churn", "-c", str(loop.parent / "train_good.yaml"))
    assert ": promoted: churn/" in assert_ok(good)


def test_knot_retrain_exits_2_when_the_retraining_fails(loop: Path) -> None:
    broken = run(loop, "retrain", "churn", "-c", str(loop.parent / "not_a_version.yaml"))
    assert_error(broken, ": failed: pipeline", "must return the new ModelVersion", narrated=True)
