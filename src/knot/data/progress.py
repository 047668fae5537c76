"""Rich progress bars for registering and profiling large data, on stderr.

Small tables finish before a bar would be worth drawing, so bars appear only for
inputs of LARGE_ROWS rows or LARGE_BYTES bytes and more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["LARGE_BYTES", "LARGE_ROWS", "is_large", "row_progress", "step_progress"]

LARGE_ROWS = 1_000_000
LARGE_BYTES = 256 * 1024 * 1024


def is_large(rows: int | None, size: int | None) -> bool:
    return (rows or 0) >= LARGE_ROWS or (size or 0) >= LARGE_BYTES


@contextmanager
def row_progress(label: str, total: int | None, show: bool) -> Iterator[Callable[[int], None]]:
    """Yields `advance(rows)`; the bar counts rows, or just spins when the total is unknown."""
    if not show:
        yield lambda _rows: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=Console(stderr=True)) as progress:
        task = progress.add_task(label, total=total)
        yield lambda rows: progress.advance(task, rows)


@contextmanager
def step_progress(label: str, steps: int, show: bool) -> Iterator[Callable[[str], None]]:
    """Yields `start(step_name)`; each call completes the previous step."""
    if not show:
        yield lambda _name: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    ) as progress:
        task = progress.add_task(label, total=steps)
        started = [False]

        def start(name: str) -> None:
            if started[0]:
                progress.advance(task)
            started[0] = True
            progress.update(task, description=f"{label}: {name}")

        yield start
        progress.update(task, completed=steps, description=label)
