"""`knot features ...` as the user runs it: the installed entry point in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.features.conftest import user_rows

KNOT = str(Path(sys.executable).parent / "knot")


def _knot(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KNOT, *args], env=env, capture_output=True, text=True, timeout=120)


def test_apply_list_materialize_and_bad_input(tmp_path: Path) -> None:
    env = {**os.environ, "KNOT_HOME": str(tmp_path / "home"), "KNOT_USER": "tester"}
    for name in ("KNOT_STORE", "KNOT_ARTIFACTS", "KNOT_ONLINE_STORE"):
        env.pop(name, None)
    user_rows().to_parquet(tmp_path / "users.parquet")
    spec = tmp_path / "features.yaml"
    spec.write_text(
        "views:\n  - name: users\n    entities: [user_id]\n    timestamp: ts\n"
        "    source: {parquet: users.parquet}\n    features: {spend: float64}\n"
        "services:\n  - name: recs\n    features: [users]\n"
    )
    done = _knot(env, "features", "apply", str(spec))
    assert done.returncode == 0, done.stderr
    assert "feature view users v1: new version" in done.stdout
    assert "feature service recs v1: new version" in done.stdout
    listed = json.loads(_knot(env, "features", "list", "--json").stdout)
    assert [v["name"] for v in listed["views"]] == ["users"]
    assert listed["services"][0]["features"] == ["users"]
    out = _knot(env, "features", "materialize", "--end", "2024-02-01", "--json")
    assert out.returncode == 0, out.stderr
    (m,) = json.loads(out.stdout)
    assert (m["view"], m["generation"], m["rows"], m["incremental"]) == ("users", 1, 2, False)
    again = json.loads(
        _knot(env, "features", "materialize", "--end", "2024-02-01", "--json").stdout
    )
    assert (again[0]["generation"], again[0]["rows"], again[0]["incremental"]) == (2, 0, True)
    assert (tmp_path / "home" / "online.db").is_file()

    spec.write_text("views:\n  - name: users\n    entities: [user_id]\n    ttl: forever\n")
    bad = _knot(env, "features", "apply", str(spec))
    assert bad.returncode == 2
    assert "lacks ['features', 'source', 'timestamp']" in bad.stderr
    assert "Traceback" not in bad.stderr
