"""The speed goals in one table, read from the results the benches wrote last.

    python bench/goals.py [--results bench/results]

`make bench` runs it after the benches. Each row takes the ratio of medians (or the
median) of one interleaved scenario from bench/results/*.json, compares it with its
goal and prints met or NOT met, with the age of the result: run that bench again to
refresh a row. A row whose bench has not run, or whose result lacks the scenario, says
so. The durable packing row and the pipelines' "until recorded" rows are printed as
context: they compare equal work (both sides fsync; both sides have every step
recorded), the goal rows compare what the goal names. The pipelines' goal rows take the
time until every step is recorded, the measure of the goal's own Prefect figure (some
3.2 s a pipeline): Prefect's `run()` returns before its API server has recorded the task
runs (1.1 s), and a script that ends there leaves most of them unrecorded (the exit
check); the wall time until `run()` returns is shown beside them. Nothing here measures
anything.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from _common import console
from interleave import fmt

#: a result file's content -> (peer, Knot, value compared with the goal), or None
Reader = Callable[[dict[str, Any]], tuple[str, str, float] | None]


@dataclass(frozen=True)
class Goal:
    work: str
    bench: str  # bench/results/<bench>.json
    read: Reader
    goal: str
    met: Callable[[float], bool] | None  # None: context, no goal of its own
    shown: Callable[[float], str]


def _row(found: dict[str, Any], scenario: str, section: str = "interleaved") -> dict[str, Any]:
    """One interleaved scenario's row (Interleaved.as_json) in the results, or {}."""
    return next((r for r in found.get(section, []) if r.get("scenario") == scenario), {})


def _medians(row: dict[str, Any]) -> tuple[str, str]:
    """The peer's median with its name, and Knot's, each with the row's unit."""
    unit, peer = row.get("unit", ""), row.get("peer", {}).get("median")
    shown = f"{row.get('peer_name', 'peer')} {fmt(peer, unit)}" if peer is not None else "-"
    return shown, fmt(row["knot"]["median"], unit)


def _interleaved(scenario: str, section: str = "interleaved") -> Reader:
    """The ratio of medians of one interleaved scenario (in the results' `section`), with
    both medians."""

    def read(found: dict[str, Any]) -> tuple[str, str, float] | None:
        row = _row(found, scenario, section)
        if not row.get("ratio_of_medians"):
            return None
        return *_medians(row), float(row["ratio_of_medians"])

    return read


def _knot_median(scenario: str) -> Reader:
    """Knot's median of one interleaved scenario (an absolute goal), with the peer's."""

    def read(found: dict[str, Any]) -> tuple[str, str, float] | None:
        row = _row(found, scenario)
        if row.get("knot", {}).get("median") is None:
            return None
        return *_medians(row), float(row["knot"]["median"])

    return read


def _disk_ceiling(found: dict[str, Any]) -> tuple[str, str, float] | None:
    """The disk's own write rate (bench/modelkits.py's ceilings) against plain tarfile:
    the best ratio any pack that is durable when it returns could reach here."""
    disk = found.get("ceilings_mb_s", {}).get("direct write + fsync")
    row = _row(found, "pack")
    if disk is None or not row.get("peer", {}).get("median"):
        return None
    return _medians(row)[0], f"disk {fmt(disk, 'MB/s')}", disk / row["peer"]["median"]


def _exit_check(found: dict[str, Any]) -> tuple[str, str, float] | None:
    """bench/pipeline.py's exit check: the steps each side had recorded once a script
    that ran one pipeline was gone (the value: Prefect's mean share)."""
    steps = found.get("steps", 100)
    counts = {
        side: [c["recorded"] for c in found.get("exit_check") or [] if c["side"] == side]
        for side in ("knot", "prefect")
    }
    if not counts["knot"] or not counts["prefect"]:
        return None
    knot, prefect = (", ".join(map(str, counts[side])) for side in ("knot", "prefect"))
    share = sum(counts["prefect"]) / len(counts["prefect"]) / steps
    return f"prefect {prefect} of {steps}", f"{knot} of {steps}", share


def _p50_gap(found: dict[str, Any]) -> tuple[str, str, float] | None:
    gap = found.get("goals", {}).get("p50_above_dataframe_floor_ms")
    floor = found.get("floor_ms", {}).get("dataframe")
    if gap is None or floor is None:
        return None
    return f"DataFrame floor {floor:.2f} ms", f"{floor + gap:.2f} ms", float(gap)


def _times(goal: float) -> Callable[[float], bool]:
    return lambda ratio: ratio >= goal


def _x(ratio: float) -> str:
    return f"{ratio:.2f}x"


GOALS = [
    Goal(
        "200 runs x 30 calls, local",
        "tracking",
        _interleaved("200 runs x (10 params + 20 metrics), time for 200"),
        ">= 50x",
        _times(50),
        _x,
    ),
    Goal(
        "filtered search over 1,000 runs",
        "tracking",
        _interleaved("search_runs over 1,000 runs, metrics.auc > 0.5"),
        ">= 5x",
        _times(5),
        _x,
    ),
    Goal(
        "batch logging over HTTP",
        "tracking",
        _interleaved("HTTP: batched logging"),
        ">= 20x",
        _times(20),
        _x,
    ),
    Goal(
        "serving throughput, 16 wrk clients",
        "serving",
        _interleaved("throughput, 16 clients"),
        ">= 10x",
        _times(10),
        _x,
    ),
    Goal(
        "serving p50, one row",
        "serving",
        _p50_gap,
        "<= 0.5 ms above the floor",
        lambda gap: gap <= 0.5,
        lambda gap: f"{gap:+.2f} ms",
    ),
    Goal(
        "serving ready",
        "serving",
        _knot_median("ready (served-model cache warm)"),
        "< 1 s",
        lambda seconds: seconds < 1.0,
        lambda seconds: f"{seconds:.2f} s",
    ),
    Goal(
        "serving memory when ready",
        "serving",
        _knot_median("memory when ready, pages once"),
        "< 200 MiB",
        lambda mib: mib < 200,
        lambda mib: f"{mib:.0f} MiB",
    ),
    Goal("pack a 1 GB kit", "packaging", _interleaved("pack"), ">= 1x", _times(1), _x),
    Goal(
        "  the same, both sides fsync",
        "packaging",
        _interleaved("pack, durable"),
        "context",
        None,
        _x,
    ),
    Goal(
        "  the disk itself (O_DIRECT + fsync)",
        "packaging",
        _disk_ceiling,
        "context",
        None,
        _x,
    ),
    Goal(
        "100 steps, chain, cold, until recorded",
        "pipeline",
        _interleaved("chain cold, recorded", section="recorded"),
        ">= 20x",
        _times(20),
        _x,
    ),
    Goal(
        "100 steps, fan, cold, until recorded",
        "pipeline",
        _interleaved("fan cold, recorded", section="recorded"),
        ">= 20x",
        _times(20),
        _x,
    ),
    Goal(
        "100 steps, chain, cached, until recorded",
        "pipeline",
        _interleaved("chain cached, recorded", section="recorded"),
        ">= 20x",
        _times(20),
        _x,
    ),
    Goal(
        "100 steps, fan, cached, until recorded",
        "pipeline",
        _interleaved("fan cached, recorded", section="recorded"),
        ">= 20x",
        _times(20),
        _x,
    ),
    Goal(
        "  chain cold, until run() returns",
        "pipeline",
        _interleaved("chain cold"),
        "context",
        None,
        _x,
    ),
    Goal(
        "  fan cold, until run() returns",
        "pipeline",
        _interleaved("fan cold"),
        "context",
        None,
        _x,
    ),
    Goal(
        "  chain cold, 3 in a row, until recorded",
        "pipeline",
        _interleaved("chain cold, 3 in a row", section="in_a_row"),
        "context",
        None,
        _x,
    ),
    Goal(
        "  one chain per script: steps recorded at exit",
        "pipeline",
        _exit_check,
        "context",
        None,
        lambda share: f"prefect {share:.0%}",
    ),
]


def _load(folder: Path, bench: str) -> tuple[dict[str, Any] | None, str]:
    path = folder / f"{bench}.json"
    try:
        found = json.loads(path.read_text())
    except FileNotFoundError:
        return None, f"no {path.name}: run bench/{_script(bench)}"
    except (OSError, ValueError) as exc:
        return None, f"{path.name} unreadable ({exc}): run bench/{_script(bench)} again"
    hours = (time.time() - path.stat().st_mtime) / 3600
    age = f"{hours * 60:.0f} min ago" if hours < 1 else f"{hours:.1f} h ago"
    if found.get("interleaved") is None and bench != "serving":
        return None, f"{path.name} has no interleaved rounds: run bench/{_script(bench)} again"
    return found, age


def _script(bench: str) -> str:
    return {"packaging": "modelkits.py"}.get(bench, f"{bench}.py")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    table = Table(title="The speed goals, from each bench's last result (ratio of medians)")
    for column in ("work", "peer", "Knot", "ratio / value", "goal", "", "measured"):
        table.add_column(column)
    cache: dict[str, tuple[dict[str, Any] | None, str]] = {}
    unmet = 0
    for goal in GOALS:
        found, age = cache.setdefault(goal.bench, _load(args.results, goal.bench))
        read = goal.read(found) if found is not None else None
        if read is None:
            missing = age if found is None else f"not in {goal.bench}.json: run it again"
            table.add_row(goal.work, "-", "-", "-", goal.goal, "[yellow]no result[/]", missing)
            unmet += goal.met is not None
            continue
        peer, knot, value = read
        if goal.met is None:
            verdict = ""
        elif goal.met(value):
            verdict = "[green]met[/]"
        else:
            verdict, unmet = "[red]NOT met[/]", unmet + 1
        table.add_row(goal.work, peer, knot, goal.shown(value), goal.goal, verdict, age)
    console.print(table)
    console.print(f"  {unmet} goal{'s' if unmet != 1 else ''} not met (or not measured)")
    return 0  # a report: an unmet goal is news, not a failed `make bench`


if __name__ == "__main__":
    raise SystemExit(main())
