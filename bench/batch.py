"""Batch scoring of 10M rows (10 Parquet files, 4 row groups each) with one scikit-learn
LogisticRegression on 8 numeric features:

    python bench/batch.py [--rows N] [--workers 2]

- knot single: `knot predict` in one process (knot.serving.batch.score_file per file);
- knot ray: `knot predict --executor ray` on a local Ray cluster of N workers, one part
  per row group, the model loaded once per worker;
- pandas loop: read each file with pandas, predict, write it (the plain script a team
  writes first; no signature checks, no manifest).

Each contender runs in a fresh interpreter; the table gives rows/s and the peak
resident memory of each process that scored (per Ray worker for Ray). Results go to
bench/results/batch.json. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "batch.json"
FEATURES = [f"x{i}" for i in range(8)]
FILES = 10


def make_input(folder: Path, rows: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    per_file = rows // FILES
    for i in range(FILES):
        data = {name: rng.normal(size=per_file) for name in FEATURES}
        pq.write_table(pa.table(data), folder / f"in-{i:02d}.parquet", row_group_size=per_file // 4)


def register_model(home: Path) -> None:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import knot

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({name: rng.normal(size=2000) for name in FEATURES})
    labels = (frame.sum(axis=1) > 0).astype(int)
    model = LogisticRegression().fit(frame, labels)
    knot.log_model(model, registered_model_name="bench", input_example=frame.head(3))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_single(inputs: Path, out: Path) -> dict[str, object]:
    from knot.serving.batch import score_file
    from knot.serving.sources import load_source

    served = load_source("models:/bench/1")
    out.mkdir()
    for path in sorted(inputs.glob("*.parquet")):
        score_file(served, path, out / path.name, progress=False)
    return {"peaks_mb": [peak_mb()]}


def run_ray(inputs: Path, out: Path, workers: int) -> dict[str, object]:
    from knot.serving.parts import score_parts

    peaks: dict[int, float] = {}

    def seen(result: object) -> None:
        pid, peak = result.worker, result.peak_rss_mb  # type: ignore[attr-defined]
        peaks[pid] = max(peaks.get(pid, 0.0), peak)

    score_parts("models:/bench/1", str(inputs), out, executor="ray", workers=workers, on_part=seen)
    return {"peaks_mb": sorted(peaks.values())}


def run_pandas(inputs: Path, out: Path) -> dict[str, object]:
    import pandas as pd

    from knot.serving.sources import load_source

    model = load_source("models:/bench/1").model.model
    out.mkdir()
    for path in sorted(inputs.glob("*.parquet")):
        frame = pd.read_parquet(path)
        frame["prediction"] = model.predict(frame[FEATURES])
        frame.to_parquet(out / path.name)
    return {"peaks_mb": [peak_mb()]}


def contender(name: str, inputs: Path, out: Path, workers: int) -> None:
    """One contender in this (fresh) process: seconds and peaks as JSON on stdout."""
    start = time.perf_counter()
    if name == "knot single":
        found = run_single(inputs, out)
    elif name == "knot ray":
        found = run_ray(inputs, out, workers)
    else:
        found = run_pandas(inputs, out)
    print(json.dumps({"seconds": time.perf_counter() - start, **found}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--contender", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.contender:
        folder = Path(args.folder)
        contender(
            args.contender, folder / "in", folder / args.contender.replace(" ", "-"), args.workers
        )
        return
    from rich.console import Console
    from rich.table import Table

    with tempfile.TemporaryDirectory(prefix="knot-bench-batch-") as tmp:
        folder = Path(tmp)
        os.environ["KNOT_HOME"] = str(folder / "home")
        os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
        (folder / "in").mkdir()
        make_input(folder / "in", args.rows)
        register_model(folder / "home")
        rows = args.rows // FILES * FILES
        results = []
        for name in ("pandas loop", "knot single", "knot ray"):
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--contender",
                    name,
                    "--folder",
                    tmp,
                    "--workers",
                    str(args.workers),
                ],
                capture_output=True,
                text=True,
                check=False,
                env=os.environ,
            )
            if done.returncode != 0:
                results.append({"contender": name, "error": done.stderr.strip()[-500:]})
                continue
            found = json.loads(done.stdout.strip().splitlines()[-1])
            results.append(
                {"contender": name, "rows": rows, **found, "rows_per_s": rows / found["seconds"]}
            )
    table = Table(title=f"batch scoring, {rows:,} rows in {FILES} files")
    for column in ("contender", "rows/s", "seconds", "peak MB per process"):
        table.add_column(column)
    for r in results:
        if "error" in r:
            table.add_row(str(r["contender"]), "error", "", str(r["error"])[:80])
            continue
        peaks = ", ".join(f"{p:.0f}" for p in r["peaks_mb"])  # type: ignore[attr-defined]
        table.add_row(str(r["contender"]), f"{r['rows_per_s']:,.0f}", f"{r['seconds']:.1f}", peaks)
    Console().print(table)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
