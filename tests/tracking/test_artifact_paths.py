"""Artifact paths in the SDK: logging refuses a path that leaves the run, and
`knot.download_artifact` never writes outside `dest`, also when the record in the
database or the stored folder manifest was written by someone hostile."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

import knot
from knot.artifacts.manifest import MEDIA_TYPE
from knot.errors import Invalid
from knot.tracking.fluent import session

HOSTILE = ["..", "../escape.txt", "a/../../escape.txt", "/abs/escape.txt", "a\x00b", "a\\b"]


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else ""
        for p in sorted(root.rglob("*"))
        if "knot-home" not in p.parts  # the store's own files change as it works
    }


@pytest.mark.parametrize("path", HOSTILE)
def test_logging_under_a_hostile_path_is_refused(
    knot_home: Path, tmp_path: Path, path: str
) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with knot.start_run() as run:
        with pytest.raises(Invalid, match="use a relative path") as caught:
            run.log_artifact(tmp_path / "notes.txt", path)
        assert caught.value.field == "artifact_path" and repr(path) in caught.value.message
        with pytest.raises(Invalid, match="use a relative path"):
            run.log_text("hello", path)
    assert knot.list_artifacts(run.run_id) == []


def _plant(knot_home: Path, run_id: str, path: str, digest: str, kind: str) -> None:
    """What a database writer (or an older, unchecking server) could leave behind."""
    with sqlite3.connect(knot_home / "knot.db") as db:
        db.execute(
            "INSERT INTO artifacts (run_id, path, digest, size, kind, created_at) "
            "VALUES (?, ?, ?, 5, ?, 0)",
            (run_id, path, digest, kind),
        )


@pytest.mark.parametrize("kind", ["file", "folder"])
@pytest.mark.parametrize("path", HOSTILE)
def test_a_hostile_record_in_the_database_downloads_nowhere(
    knot_home: Path, tmp_path: Path, path: str, kind: str
) -> None:
    with knot.start_run() as run:
        run.log_text("fine", "fine.txt")
    if kind == "folder":  # a well-formed folder: only the record's path is hostile
        (tmp_path / "src").mkdir()
        (tmp_path / "src" / "escape.txt").write_text("evil!")
        digest = session().artifacts.put_folder(tmp_path / "src")
    else:
        digest = session().artifacts.put_bytes(b"evil!")
    _plant(knot_home, run.run_id, path, digest, kind)
    dest = tmp_path / "deep" / "dest"
    dest.mkdir(parents=True)
    before = _tree(tmp_path)
    with pytest.raises(Invalid, match="use a relative path") as caught:
        knot.download_artifact(run.run_id, path, dest)
    assert repr(path) in caught.value.message
    assert _tree(tmp_path) == before
    assert not Path("/abs/escape.txt").exists()
    assert knot.download_artifact(run.run_id, "fine.txt", dest).read_text() == "fine"


def test_a_hostile_folder_manifest_writes_nothing(knot_home: Path, tmp_path: Path) -> None:
    artifacts = session().artifacts
    inner = artifacts.put_bytes(b"evil!")
    entries = [
        {"path": "ok.txt", "digest": inner, "size": 5},
        {"path": "../../escape.txt", "digest": inner, "size": 5},
    ]
    manifest = artifacts.put_bytes(
        json.dumps({"mediaType": MEDIA_TYPE, "entries": entries}).encode()
    )
    with knot.start_run() as run:
        pass
    _plant(knot_home, run.run_id, "model", manifest, "folder")
    dest = tmp_path / "dest"
    dest.mkdir()
    before = _tree(tmp_path)
    with pytest.raises(Invalid, match=r"unsafe path '../../escape.txt'.*climbs out"):
        knot.download_artifact(run.run_id, "model", dest)
    assert _tree(tmp_path) == before


def test_a_symlink_in_dest_cannot_carry_a_download_out(knot_home: Path, tmp_path: Path) -> None:
    with knot.start_run() as run:
        run.log_text("hello", "notes.txt")
    dest, elsewhere = tmp_path / "dest", tmp_path / "elsewhere"
    dest.mkdir()
    elsewhere.mkdir()
    (dest / "notes.txt").symlink_to(elsewhere / "notes.txt")
    with pytest.raises(Invalid, match="through a symlink"):
        knot.download_artifact(run.run_id, "notes.txt", dest)
    assert list(elsewhere.iterdir()) == []
