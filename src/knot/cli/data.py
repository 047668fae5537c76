"""`knot data register/list/show/diff/validate/profile/alias`"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from knot.cli._exit import check_failed
from knot.cli._output import fmt_time, fmt_value, print_json, print_table

if TYPE_CHECKING:
    from knot.data.rules.report import ValidationReport

app = typer.Typer(help="Datasets: versions, validation rules and profiles.", no_args_is_help=True)


def _report(report: ValidationReport) -> None:
    rows = []
    for r in report.results:
        mark = {"passed": "[green]passed[/]", "failed": "[red]failed[/]"}.get(
            r.status.value, "[dim]skipped[/]"
        )
        rows.append((r.name, mark, r.expected, r.observed or r.message or ""))
    print_table(
        f"validation of {report.dataset or report.source}",
        ["rule", "", "expected", "observed"],
        rows,
    )
    for r in report.failed:
        if r.examples:
            keys = list(r.examples[0])[:8]
            print_table(
                f"{r.name}: examples", keys, [[str(e.get(k, "")) for k in keys] for e in r.examples]
            )
    typer.echo(report.summary())


@app.command("register")
def register(
    name: str = typer.Argument(..., help="Dataset name, e.g. churn."),
    path: Path = typer.Argument(..., help="A Parquet or CSV file, or a folder of Parquet."),
    rules: Path = typer.Option(None, "--rules", "-r", help="Rules YAML every version must pass."),
    tag: list[str] = typer.Option(None, "--tag", "-t", help="key=value, repeatable."),
    description: str = typer.Option(None, "--description", "-d"),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Store a new version (identical content returns the existing one). Exits 1 when the
    version fails the dataset's rules and is stored as rejected."""
    import knot
    from knot.errors import Invalid

    tags = {}
    for item in tag or []:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise Invalid(f"tag {item!r} must look like key=value", field="tag")
        tags[key] = value
    version = knot.register_dataset(name, path, rules=rules, tags=tags, description=description)
    if json_out:
        print_json(version.model_dump(mode="json"))
    else:
        typer.echo(
            f"{version.ref} {version.status.value}: {version.rows:,} rows, "
            f"{len(version.columns)} columns, {version.digest}"
        )
    if version.status.value == "rejected":
        reports = [r for r in knot.dataset_reports(version.ref) if r.report_id == version.report_id]
        if reports and not json_out:
            _report(reports[0])
        why = reports[0].summary() if reports else "it failed the dataset's rules"
        check_failed(f"{version.ref} is stored as rejected: {why}")


@app.command("list")
def list_datasets(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every dataset with its version count, latest accepted version and aliases."""
    import knot

    found = knot.list_datasets()
    if json_out:
        print_json([d.model_dump(mode="json") for d in found])
        return
    rows = [
        (
            d.name,
            d.versions,
            d.latest or "",
            ", ".join(f"{a}={v}" for a, v in sorted(d.aliases.items())),
            "yes" if d.has_rules else "",
            fmt_time(d.created_at),
        )
        for d in found
    ]
    print_table("datasets", ["name", "versions", "latest", "aliases", "rules", "created"], rows)


@app.command("show")
def show(
    ref: str = typer.Argument(..., help="churn (all versions) or churn@3, churn@latest."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """A dataset's versions, or one version's schema and latest validation."""
    import knot

    if "@" not in ref:
        versions = knot.list_dataset_versions(ref)
        if json_out:
            print_json([v.model_dump(mode="json") for v in versions])
            return
        rows = [
            (
                v.ref,
                v.status.value,
                f"{v.rows:,}",
                len(v.columns),
                fmt_time(v.created_at),
                v.created_by,
                v.run_id or "",
                v.digest[:19],
            )
            for v in versions
        ]
        print_table(
            f"dataset {ref}",
            ["version", "status", "rows", "columns", "created", "by", "run", "digest"],
            rows,
        )
        return
    version = knot.get_dataset(ref)
    reports = knot.dataset_reports(version.ref)
    if json_out:
        data = version.model_dump(mode="json")
        data["reports"] = [r.model_dump(mode="json") for r in reports]
        print_json(data)
        return
    info = [
        ("status", version.status.value),
        ("rows", f"{version.rows:,}"),
        ("size", f"{version.size:,} bytes"),
        ("digest", version.digest),
        ("source", version.source),
        ("created", fmt_time(version.created_at)),
        ("by", version.created_by),
        ("run", version.run_id),
        ("description", version.description),
        ("tags", ", ".join(f"{k}={v}" for k, v in sorted(version.tags.items()))),
    ]
    print_table(version.ref, ["field", "value"], info)
    print_table(
        "columns",
        ["name", "type", "kind", "nulls", "categories"],
        [
            (
                c.name,
                c.type,
                c.kind,
                "yes" if c.nullable else "no",
                ", ".join(c.categories[:8]) if c.categories else "",
            )
            for c in version.columns
        ],
    )
    if reports:
        typer.echo(f"last validation: {reports[-1].summary()}")


@app.command("diff")
def diff(
    a: str = typer.Argument(..., help="e.g. churn@1"),
    b: str = typer.Argument(..., help="e.g. churn@2"),
    all_stats: bool = typer.Option(False, "--all", help="Show unchanged statistics too."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Schema changes, row counts and column statistics that moved from A to B."""
    import knot

    result = knot.diff_datasets(a, b)
    if json_out:
        print_json(result.model_dump(mode="json"))
        return
    typer.echo(
        f"{result.a} -> {result.b}: rows {result.rows_before:,} -> "
        f"{result.rows_after:,}" + (" (same content)" if result.same_content else "")
    )
    if result.schema_changes:
        print_table(
            "schema changes",
            ["column", "change", "before", "after"],
            [(c.column, c.change, c.before, c.after) for c in result.schema_changes],
        )
    stats = result.stats if all_stats else result.changed_stats
    if stats:
        print_table(
            "statistics" + ("" if all_stats else " that changed"),
            ["column", "stat", "before", "after"],
            [(s.column, s.stat, _num(s.before), _num(s.after)) for s in stats],
        )
    elif not result.schema_changes:
        typer.echo("no schema changes and no statistic moved by more than 10%")


def _num(value: float | str | None) -> str:
    return fmt_value(value) if isinstance(value, float | int) else str(value or "")


@app.command("validate")
def validate(
    ref: str = typer.Argument(..., help="e.g. churn@4"),
    rules: Path = typer.Option(
        None, "--rules", "-r", help="Rules YAML (default: the dataset's own rule set)."
    ),
    reference: str = typer.Option(
        None, "--reference", help="Version mean/quantile rules compare with, e.g. churn@3."
    ),
    examples: int = typer.Option(5, "--examples", "-n", help="Example rows per failing rule."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Check a version against rules; the report is stored. Exits 1 when a rule fails."""
    import knot

    report = knot.validate_dataset(ref, rules, reference=reference, examples=examples)
    if json_out:
        print_json(report.model_dump(mode="json"))
    else:
        _report(report)
    if not report.passed:
        check_failed(report.summary())


@app.command("profile")
def profile(
    ref: str = typer.Argument(..., help="e.g. churn@4"),
    html: Path = typer.Option(None, "--html", help="Also write an HTML report to this file."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Per-column statistics of a version: nulls, distinct, range, quantiles, top values."""
    import knot

    version = knot.get_dataset(ref)
    result = knot.profile_dataset(version.ref)
    if html is not None:
        from knot.data.profile_html import profile_page

        profile_page(result, title=f"Profile of {version.ref}").write_html(html)
        typer.echo(f"wrote {html}", err=True)
    if json_out:
        print_json(result.model_dump(mode="json"))
        return
    rows = []
    for c in result.columns:
        top = ", ".join(f"{t.value} ({t.count:,})" for t in c.top[:3])
        rows.append(
            (
                c.name,
                c.kind,
                f"{c.null_fraction:.1%}",
                c.distinct,
                _num(c.min),
                _num(c.max),
                fmt_value(c.mean),
                fmt_value(c.std),
                top,
            )
        )
    print_table(
        f"profile of {version.ref} ({result.rows:,} rows)",
        ["column", "kind", "nulls", "distinct", "min", "max", "mean", "std", "top"],
        rows,
    )


@app.command("alias")
def alias(
    ref: str = typer.Argument(..., help="The version, e.g. churn@3."),
    name: str = typer.Argument(..., help="The alias, e.g. prod."),
) -> None:
    """Point an alias at a version (moves it if it already points elsewhere)."""
    import knot

    version = knot.set_dataset_alias(ref, name)
    typer.echo(f"{version.name}@{name} -> {version.ref}")
