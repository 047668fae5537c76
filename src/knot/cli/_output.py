"""Shared CLI output: JSON and Rich tables, times and numbers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import typer

__all__ = ["fmt_time", "print_json", "print_table", "say_store"]


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    Console().print(table)


def say_store() -> None:
    """One line at the top of a long command's output: the stores it works on (passwords
    hidden), so a user sees at once whether it is the laptop's store or the team's."""
    from knot.config import redact, settings

    current = settings()
    typer.echo(f"store {redact(current.store_uri)} · artifacts {redact(current.artifacts_uri)}")


def fmt_time(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def fmt_value(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.6g}"
