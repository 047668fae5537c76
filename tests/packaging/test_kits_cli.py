"""`knot pack/kits/push/pull/unpack/sign/verify/keys` through Typer's runner, and one
real process for the error path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from knot.cli import app
from knot.errors import Invalid, NotFound
from tests.packaging.conftest import OciRegistry

runner = CliRunner()


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_whole_cycle(
    oci_registry: OciRegistry, context: Path, knot_home: Path, tmp_path: Path
) -> None:
    assert "packed toy:1 sha256:" in _ok("pack", str(context), "-t", "toy:1")
    listed = json.loads(_ok("kits", "list", "--json"))
    assert [e["reference"] for e in listed] == ["toy:1"]
    inspected = json.loads(_ok("kits", "inspect", "toy:1", "--json"))
    assert inspected["kitfile"]["package"]["name"] == "toy"
    target = f"{oci_registry.address}/cli/toy:1"
    assert "6 blobs sent" in _ok("push", "toy:1", target)
    assert "0 blobs sent" in _ok("push", "toy:1", target)
    assert _ok("kits", "tags", f"{oci_registry.address}/cli/toy").split() == ["1"]
    key, pub = tmp_path / "s.key", tmp_path / "s.pub"
    _ok("keys", "generate", "--private", str(key), "--public", str(pub))
    assert "signed:" in _ok("sign", target, "--key", str(key))
    assert "verified:" in _ok("verify", target, "--key", str(pub))
    assert "removed toy:1" in _ok("kits", "remove", "toy:1")
    assert "pulled" in _ok("pull", target)
    _ok("unpack", target, str(tmp_path / "model-only"), "--model")
    assert (tmp_path / "model-only" / "models" / "model.bin").is_file()
    assert not (tmp_path / "model-only" / "README.md").exists()
    assert "unpacked" in _ok("unpack", target, str(tmp_path / "all"))
    assert (tmp_path / "all" / "README.md").is_file()


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["pull", "Not A Ref"], Invalid),
        (["kits", "inspect", "missing:1"], NotFound),
        (["kits", "remove", "missing:1"], NotFound),
        (["pack", "/no/such/folder", "-t", "x:1"], Invalid),
        (["pack", ".", "-t", "x:1", "--compression", "lz4"], Invalid),
        (["verify", "missing:1", "--key", "/no/key.pub"], Invalid),
    ],
)
def test_bad_input(knot_home: Path, args: list[str], error: type[Exception]) -> None:
    result = runner.invoke(app, args)
    assert isinstance(result.exception, error), result.output


def test_errors_are_one_line(knot_home: Path, context: Path, tmp_path: Path) -> None:
    _ok("pack", str(context), "-t", "toy:1")
    _ok("keys", "generate", "--private", str(tmp_path / "k"), "--public", str(tmp_path / "k.pub"))
    env = {**os.environ, "KNOT_HOME": str(knot_home)}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from knot.cli import main; main()",
            "verify",
            "toy:1",
            "--key",
            str(tmp_path / "k.pub"),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1  # unsigned: the check says no (2 is kept for errors)
    assert done.stderr.startswith("failed: ModelKit toy:1") and "Traceback" not in done.stderr
