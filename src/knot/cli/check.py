"""`knot check`: run the CI gates of a knot-check.yaml (data, model quality against the
champion, fairness) and exit 1 when one fails, with a readable report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from knot.cli._exit import check_failed
from knot.cli._output import print_json

if TYPE_CHECKING:
    from knot.gates.report import CheckReport

CONFIG = typer.Option(
    Path("knot-check.yaml"), "--config", "-c", help="The gates file (see knot.gates.check)."
)


def check(
    config: Path = CONFIG,
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    html: Path | None = typer.Option(None, "--html", help="Also write the report as HTML here."),
    candidate: str | None = typer.Option(
        None, "--candidate", help="Check this alias or version instead of the config's candidate."
    ),
) -> None:
    """Run the gates in CONFIG. Exits 0 when all pass, 1 when one fails, 2 when the config
    or the store is wrong."""
    from rich.console import Console
    from rich.progress import Progress

    from knot.gates.check import gate_count, load_check_config, run_check

    parsed = load_check_config(config)
    if candidate is not None:
        parsed = parsed.with_candidate(candidate)
    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=json_out) as progress:
        task = progress.add_task("checking", total=gate_count(parsed))

        def advance(name: str) -> None:
            progress.update(task, description=name, advance=1)

        report = run_check(parsed, config.parent, origin=str(config), on_gate=advance)
    if html is not None:
        from knot.gates.html import check_page

        written = check_page(report).write_html(html)
        console.print(f"report written to {written}")
    if json_out:
        print_json(report.to_dict())
    else:
        _print(report)
    if not report.passed:
        names = ", ".join(g.name for g in report.failed)
        check_failed(f"{len(report.failed)} of {len(report.gates)} gates failed: {names}")


def _print(report: CheckReport) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"knot check: {report.config}")
    for column in ("gate", "result", "summary"):
        table.add_column(column)
    for gate in report.gates:
        verdict = "[green]passed[/green]" if gate.passed else "[bold red]FAILED[/bold red]"
        table.add_row(gate.name, verdict, gate.summary)
    console.print(table)
    for title, tone, lines in (
        ("passed checks", "green", [(g.name, c) for g in report.gates for c in g.passed_checks]),
        ("failed checks", "bold red", [(g.name, c) for g in report.gates for c in g.failed_checks]),
    ):
        if lines:
            console.print(f"[{tone}]{title}:[/{tone}]")
        for gate_name, line in lines:
            console.print(f"  - {gate_name}: {line}", markup=False, highlight=False, soft_wrap=True)
    passed = len(report.gates) - len(report.failed)
    tone = "green" if report.passed else "red"
    console.print(f"[{tone}]{passed}/{len(report.gates)} gates passed[/{tone}]")
