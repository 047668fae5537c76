"""Shared CLI plumbing: error handling, JSON output and Rich tables."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import typer

__all__ = ["fmt_time", "print_json", "print_table", "run_app"]


def run_app(app: typer.Typer) -> None:
    """Run the app and exit with Knot's documented codes.

    0 ok, 1 a check failed (a command raised ``typer.Exit(1)``), 2 a usage or store
    error (one line on stderr), 130 interrupted. Typer bundles its own copy of Click,
    so its exceptions are caught from ``typer._click``, not from ``click``.
    """
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

    from knot.errors import KnotError

    try:
        result = app(standalone_mode=False)
    except KnotError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    except NoArgsIsHelpError as exc:
        exc.show()
        sys.exit(2)
    except UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "knot"
        typer.echo(f"error: {exc.format_message()} (see '{where} --help')", err=True)
        sys.exit(2)
    except ClickException as exc:
        typer.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    # In non-standalone mode Click hands back the code of a raised typer.Exit.
    sys.exit(result if isinstance(result, int) and not isinstance(result, bool) else 0)


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


def fmt_time(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def fmt_value(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.6g}"
