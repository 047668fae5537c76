"""settings() follows the environment, the working folder and its knot.toml as they
change, although it answers repeated questions from a cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from knot.config import settings
from knot.errors import Invalid


@pytest.fixture
def in_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("KNOT_HOME", "KNOT_STORE", "KNOT_ARTIFACTS", "KNOT_USER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults_follow_home(in_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings().home == in_folder / "user-home" / ".knot"
    monkeypatch.setenv("HOME", str(in_folder / "other"))
    assert settings().home == in_folder / "other" / ".knot"
    assert settings().store_uri == f"sqlite:///{in_folder / 'other' / '.knot' / 'knot.db'}"


def test_knot_toml_is_read_and_reread_when_it_changes(in_folder: Path) -> None:
    toml = in_folder / "knot.toml"
    toml.write_text('[knot]\nstore = "sqlite:///first.db"\nuser = "ann"\n')
    assert (settings().store_uri, settings().user) == ("sqlite:///first.db", "ann")
    toml.write_text('store = "sqlite:///second.db"\n')
    os.utime(toml, ns=(1, 10**18))  # another modification time, however fast the disk is
    assert settings().store_uri == "sqlite:///second.db"
    toml.unlink()
    assert settings().store_uri.endswith("/.knot/knot.db")


def test_the_environment_wins_over_knot_toml(
    in_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (in_folder / "knot.toml").write_text('home = "/from/toml"\nuser = "ann"\n')
    assert settings().home == Path("/from/toml")
    monkeypatch.setenv("KNOT_HOME", str(in_folder / "env-home"))
    monkeypatch.setenv("KNOT_USER", "bob")
    assert (settings().home, settings().user) == (in_folder / "env-home", "bob")
    monkeypatch.setenv("KNOT_STORE", "http://127.0.0.1:9")
    assert settings().artifacts_uri == "http://127.0.0.1:9"  # a server keeps the artifacts


def test_another_folder_has_its_own_knot_toml(
    in_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (in_folder / "knot.toml").write_text('user = "ann"\n')
    other = in_folder / "project"
    other.mkdir()
    (other / "knot.toml").write_text('user = "cy"\n')
    assert settings().user == "ann"
    monkeypatch.chdir(other)
    assert settings().user == "cy"


def test_a_broken_knot_toml_is_named(in_folder: Path) -> None:
    (in_folder / "knot.toml").write_text("store = \n")
    with pytest.raises(Invalid, match=r"knot\.toml is not valid TOML"):
        settings()
