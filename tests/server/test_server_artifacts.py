"""A client of a live `knot server` keeps its artifacts on the server: with
KNOT_STORE=http:// and no KNOT_ARTIFACTS, run artifacts and models logged with
knot.log_model go through the server's blob routes, and another client with a KNOT_HOME
of its own (no artifact store at all) downloads, loads and scores them, `knot predict`
included. DELETE on a blob drops it only when its stored bytes are damaged."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import knot
from knot.artifacts import open_blob_store
from knot.errors import Corrupted, NotFound
from tests.backends import StoreBackend

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]
KNOT = Path(sys.executable).parent / "knot"


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "y": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]})


@pytest.fixture
def remote(remote_backend: StoreBackend, knot_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    remote_backend.use(monkeypatch)
    return remote_backend.uri


def _other_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A second machine: a KNOT_HOME of its own, the same server, no KNOT_ARTIFACTS."""
    home = tmp_path / "laptop"
    monkeypatch.setenv("KNOT_HOME", str(home))
    knot.reset()
    return home


def test_artifacts_and_models_logged_through_a_server_reach_another_client(
    remote: str,
    remote_backend: StoreBackend,
    knot_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("threshold 0.4\n")
    frame = _frame()
    model = LogisticRegression().fit(frame[["x"]], frame["y"].astype(int))
    with knot.start_run() as run:
        record = knot.log_artifact(notes, "notes/notes.txt")
        example = frame[["x"]][:2]
        version = knot.log_model(model, registered_model_name="remote-art", input_example=example)
    knot.set_alias("remote-art", "champion", version.version)
    # the blobs are in the server's store, and this client kept none of its own
    server_store = open_blob_store(remote_backend.artifacts_uri)
    assert server_store.exists(record.digest) and server_store.exists(version.artifact_digest)
    assert not (knot_home / "artifacts").exists()

    home = _other_client(tmp_path, monkeypatch)
    got = knot.download_artifact(run.run_id, "notes/notes.txt", tmp_path / "got")
    assert got.read_text() == "threshold 0.4\n"
    loaded = knot.load_model("models:/remote-art@champion")
    assert list(loaded.predict(frame[["x"]])) == list(model.predict(frame[["x"]]))
    assert not (home / "artifacts").exists()

    # the user's CLI on that second machine scores a file with the server's model
    frame[["x"]].to_parquet(tmp_path / "in.parquet")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    paths = ["--input", str(tmp_path / "in.parquet"), "--output", str(tmp_path / "out.parquet")]
    scored = subprocess.run(
        [str(KNOT), "predict", "models:/remote-art@champion", *paths],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert scored.returncode == 0, scored.stderr
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert list(out["prediction"]) == list(model.predict(frame[["x"]]))
    assert not (home / "artifacts").exists()


def test_a_blob_missing_on_the_server_is_not_found_naming_it(remote: str) -> None:
    store = open_blob_store(remote)
    absent = "sha256:" + "0" * 64
    assert not store.exists(absent)
    with pytest.raises(NotFound, match=absent):
        store.get_bytes(absent)
    with pytest.raises(NotFound, match=absent):
        store.size(absent)


def test_delete_drops_only_a_damaged_blob(remote: str, remote_backend: StoreBackend) -> None:
    client_side = open_blob_store(remote)
    sound = client_side.put_bytes(b"a sound blob")
    damaged = client_side.put_bytes(b"a blob whose disk copy rots")
    server_side = open_blob_store(remote_backend.artifacts_uri)
    path = server_side.backend._path(damaged)  # type: ignore[attr-defined]
    path.chmod(0o644)
    path.write_bytes(b"a blob whose disk copy ROTS")

    with pytest.raises(Corrupted, match=damaged):
        client_side.get_bytes(damaged)
    with httpx.Client(base_url=remote) as http:
        kept = http.delete(f"/api/v1/blobs/{sound}")
        assert kept.status_code == 200 and kept.json() == {"digest": sound, "deleted": False}
        absent = http.delete("/api/v1/blobs/sha256:" + "1" * 64)
        assert absent.status_code == 404 and "sha256:" + "1" * 64 in absent.json()["message"]
        bad = http.delete("/api/v1/blobs/sha256:XYZ")
        assert bad.status_code == 422 and bad.json()["field"] == "digest"
    client_side.delete(sound)  # a client cannot remove a sound blob others may name
    assert client_side.get_bytes(sound) == b"a sound blob"
    client_side.delete(damaged)
    assert not server_side.exists(damaged)
    # the digest can be stored again, whole
    assert client_side.put_bytes(b"a blob whose disk copy rots") == damaged
    assert client_side.get_bytes(damaged) == b"a blob whose disk copy rots"


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost"])
def test_a_server_whose_artifacts_are_itself_is_refused(name: str, tmp_path: Path) -> None:
    """`--artifacts http://<this server>` would send each upload back to itself: refused
    at start (exit 2, naming the fix) instead of looping."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = subprocess.run(
        [str(KNOT), "server", "--port", str(port), "--store", f"sqlite:///{tmp_path}/k.db",
         "--artifacts", f"http://{name}:{port}"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert f"is this server itself (port {port})" in done.stderr
    assert "s3://BUCKET/PREFIX" in done.stderr
