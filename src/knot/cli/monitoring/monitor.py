"""`knot monitor drift`; other monitoring commands (run, watch, report) register on
the same `monitor_app` from their own modules."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from knot.cli._exit import check_failed
from knot.cli._output import fmt_value, print_json, print_table

if TYPE_CHECKING:
    from knot.monitoring.drift.report import DriftReport

monitor_app = typer.Typer(
    help="Monitoring: data and prediction drift, performance, alerts.", no_args_is_help=True
)


def _pairs(items: list[str] | None, option: str) -> dict[str, str]:
    from knot.errors import Invalid

    out = {}
    for item in items or []:
        key, eq, value = item.partition("=")
        if not eq or not key or not value:
            raise Invalid(f"{option} {item!r} must look like COLUMN=VALUE", field=option)
        out[key] = value
    return out


def _thresholds(items: list[str] | None) -> dict[str, float]:
    from knot.errors import Invalid

    out = {}
    for key, value in _pairs(items, "--threshold").items():
        try:
            out[key] = float(value)
        except ValueError:
            raise Invalid(
                f"--threshold {key}={value!r} must be a number, e.g. {key}=0.1",
                field="--threshold",
            ) from None
    return out


def _show(report: DriftReport) -> None:
    shown = [*report.columns, *([report.prediction] if report.prediction else [])]
    rows = [
        (
            c.column,
            c.kind,
            c.test + ("~" if c.approximate else ""),
            fmt_value(c.statistic),
            fmt_value(c.p_value),
            fmt_value(c.threshold),
            "[red]drifted[/]" if c.drifted else "[green]ok[/]",
            f"{c.missing_share_ref:.1%} / {c.missing_share_cur:.1%}",
            ", ".join(c.new_categories[:5]),
        )
        for c in shown
    ]
    print_table(
        "drift per column",
        [
            "column",
            "kind",
            "test",
            "statistic",
            "p-value",
            "threshold",
            "",
            "missing ref/cur",
            "new categories",
        ],
        rows,
    )
    verdict = "dataset drifted" if report.dataset_drifted else "no dataset drift"
    typer.echo(
        f"{verdict}: {len(report.drifted_columns)} of {len(report.columns)} columns "
        f"({report.share_drifted:.0%}, threshold {report.drift_share:.0%})"
        + (
            f"; prediction {'drifted' if report.prediction.drifted else 'ok'}"
            if report.prediction
            else ""
        )
    )
    # on stderr, so the table and verdict on stdout stay as they were for scripts
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)


@monitor_app.command("drift")
def drift(
    reference: str = typer.Argument(
        ...,
        help="dataset:NAME@VERSION, profile:NAME@VERSION (a stored profile), or a "
        ".parquet/.csv path.",
    ),
    current: str = typer.Argument(..., help="dataset:NAME@VERSION or a .parquet/.csv path."),
    column: list[str] = typer.Option(None, "--column", "-c", help="Compare only these."),
    test: list[str] = typer.Option(
        None, "--test", help="COLUMN=ks|psi|wasserstein|jensenshannon|chisquare, repeatable."
    ),
    threshold: list[str] = typer.Option(None, "--threshold", help="COLUMN=NUMBER, repeatable."),
    drift_share: float = typer.Option(0.5, "--drift-share", help="Share of drifted columns."),
    html_out: Path = typer.Option(None, "--html", help="Write a Plotly report here."),
    fail_on_drift: bool = typer.Option(
        False, "--fail-on-drift", help="Exit 1 when the dataset drifted."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Per-column drift of CURRENT against REFERENCE, the share of drifted columns and
    prediction drift. With --fail-on-drift, exits 1 when the dataset drifted."""
    from knot.monitoring.drift.batch import drift as compute

    report = compute(
        reference,
        current,
        columns=column or None,
        tests=_pairs(test, "--test"),
        thresholds=_thresholds(threshold),
        drift_share=drift_share,
    )
    if json_out:
        print_json(report.to_dict())
    else:
        _show(report)
    if html_out is not None:
        written = report.write_html(html_out)
        if not json_out:
            typer.echo(f"report: {written}")
    if fail_on_drift and report.dataset_drifted:
        check_failed(
            f"dataset drifted: {', '.join(report.drifted_columns[:5])} "
            f"({report.share_drifted:.0%} of columns, --drift-share {report.drift_share:.0%})"
        )
