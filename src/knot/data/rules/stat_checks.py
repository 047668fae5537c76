"""Statistical expectations: a column's mean or quantiles within a tolerance of the
same statistics in a reference version's stored profile."""

from __future__ import annotations

from typing import Any

from knot.data.profile import Profile, quantile_sql
from knot.data.rules.planned import Planned
from knot.data.rules.report import RuleStatus
from knot.data.rules.ruleset import ColumnRules
from knot.errors import Invalid

__all__ = ["statistical_rules"]


def statistical_rules(
    column: str,
    col: str,
    kind: str,
    r: ColumnRules,
    reference: Profile | None,
    reference_name: str | None,
    exact: bool,
) -> list[Planned]:
    if reference is None and reference_name is not None:
        skipped = [
            Planned(f"{column}.{k}", k, column, f"{k.replace('_', ' ')} {reference_name}")
            for k in ("mean_within", "quantiles_within")
            if getattr(r, k)
        ]
        for p in skipped:
            p.decided = p.result(
                RuleStatus.SKIPPED, message=f"{reference_name} has no version to compare with yet"
            )
        return skipped
    if reference is None:
        raise Invalid(
            f"rules for {column!r} compare with a reference profile (mean_within / "
            "quantiles_within), but none was given; set table.reference in the rules "
            "(e.g. churn@latest) or pass reference=",
            field=f"columns.{column}",
        )
    ref = reference.column(column)
    out = []
    source = reference_name or "the reference"
    value = f"CAST({col} AS DOUBLE)"
    if r.mean_within is not None:
        tol = r.mean_within
        p = Planned(
            f"{column}.mean_within",
            "mean_within",
            column,
            f"mean within {tol.describe()} of {source}"
            + (f" ({ref.mean:.6g})" if ref and ref.mean is not None else ""),
        )
        if ref is None or ref.mean is None or kind not in ("integer", "float", "decimal"):
            p.decided = p.result(
                RuleStatus.FAILED,
                f"column is {kind}",
                message=f"{source} has no mean for {column!r}",
            )
        else:
            ref_mean = ref.mean

            def mean_judge(mean: Any, rows: int) -> tuple[bool, int | None, str]:
                if mean is None:
                    return False, None, "no values"
                return tol.allows(float(mean), ref_mean), None, f"mean {float(mean):.6g}"

            p.aggregate, p.judge = f"avg({value})", mean_judge
        out.append(p)
    if r.quantiles_within:
        wanted = r.quantiles_within
        p = Planned(
            f"{column}.quantiles_within",
            "quantiles_within",
            column,
            ", ".join(f"p{q * 100:g} within {t.describe()}" for q, t in wanted.items())
            + f" of {source}",
        )
        stored = ref.quantiles if ref is not None else {}
        missing = [q for q in wanted if str(float(q)) not in stored]
        if ref is not None and stored and missing:
            raise Invalid(
                f"rule {column}.quantiles_within asks for {missing}, but {source} "
                f"stores quantiles {', '.join(stored)}; use those",
                field=f"columns.{column}.quantiles_within",
            )
        if not stored or kind not in ("integer", "float", "decimal"):
            p.decided = p.result(
                RuleStatus.FAILED,
                f"column is {kind}",
                message=f"{source} has no quantiles for {column!r}",
            )
        else:
            qs = list(wanted)

            def quantile_judge(values: Any, rows: int) -> tuple[bool, int | None, str]:
                if not values or any(v is None for v in values):
                    return False, None, "no values"
                ok = all(
                    wanted[q].allows(float(v), stored[str(float(q))])
                    for q, v in zip(qs, values, strict=True)
                )
                seen = ", ".join(
                    f"p{q * 100:g} {float(v):.6g} (ref {stored[str(float(q))]:.6g})"
                    for q, v in zip(qs, values, strict=True)
                )
                return ok, None, seen

            p.aggregate, p.judge = quantile_sql(value, qs, exact), quantile_judge
        out.append(p)
    return out
