"""`knot check`: the gates a CI job runs before a model may ship.

A YAML file (knot-check.yaml by default) lists the gates:

    model: churn                       # the model the quality and fairness gates check
    data:                              # each dataset version must pass its rules
      - dataset: churn                 # a ref: churn, churn@3, churn@prod
        rules: rules.yaml              # optional; default the dataset's own rule set
    quality:                           # a candidate against the champion, same rows
      candidate: challenger            # an alias or version number (default challenger)
      champion: champion
      dataset: churn_holdout
      label: churned
      metric: accuracy
      min_margin: 0.01
      guards: {recall: 0.02}           # or a list: [recall] (no regression at all)
      segment: contract                # optional per-segment check
      thresholds: ["accuracy >= 0.7"]  # absolute floors for the candidate
    fairness:
      - dataset: churn_holdout
        column: gender
        label: churned                 # needed by equal_opportunity_difference
        metric: demographic_parity_difference   # or equal_opportunity_difference
        max_gap: 0.1

Paths in the file are relative to it. A failing gate makes the report fail (exit 1);
a config or store problem is an error (exit 2) naming the key, and so is a metric that
does not measure the candidate's task (`accuracy` for a regressor, `mae` for a
classifier, a fairness gate for a regressor).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from knot.data.rules.report import RuleStatus
from knot.errors import Invalid
from knot.gates.config_file import load_config
from knot.gates.evaluate import ComparisonPolicy, MetricComparison, evaluate_challenger
from knot.gates.fairness_gate import FairnessGate, run_fairness_gate
from knot.gates.report import CheckReport, GateResult
from knot.metrics import METRIC_TABLE
from knot.tracking.datasets import validate_dataset

__all__ = [
    "CheckConfig",
    "DataGate",
    "QualityGate",
    "check",
    "gate_count",
    "load_check_config",
    "run_check",
]

DEFAULT_CONFIG = "knot-check.yaml"


class DataGate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: str
    rules: str | None = None  # a YAML rules file; default the dataset's own rule set
    reference: str | None = None  # the version mean/quantile rules compare with


class QualityGate(ComparisonPolicy):
    """A ComparisonPolicy plus what to compare: candidate vs champion on `dataset`."""

    model: str | None = None
    candidate: str | int = "challenger"
    champion: str = "champion"
    dataset: str
    label: str

    def policy(self) -> ComparisonPolicy:
        return ComparisonPolicy.model_validate(
            self.model_dump(include=set(ComparisonPolicy.model_fields))
        )


class CheckConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str | None = None
    data: list[DataGate] = Field(default_factory=list)
    quality: QualityGate | None = None
    fairness: list[FairnessGate] = Field(default_factory=list)

    @model_validator(mode="after")
    def _some_gate(self) -> CheckConfig:
        if not (self.data or self.quality or self.fairness):
            raise ValueError("no gates: add at least one of data, quality, fairness")
        named = [g.model for g in [self.quality, *self.fairness] if g is not None]
        if self.model is None and any(m is None for m in named):
            raise ValueError("the quality and fairness gates need `model` (top level or per gate)")
        return self

    def with_candidate(self, candidate: str | int) -> CheckConfig:
        """The same gates checking `candidate` (an alias or version) instead."""
        quality = self.quality.model_copy(update={"candidate": candidate}) if self.quality else None
        fairness = [g.model_copy(update={"candidate": candidate}) for g in self.fairness]
        return self.model_copy(update={"quality": quality, "fairness": fairness})


def load_check_config(path: str | Path = DEFAULT_CONFIG) -> CheckConfig:
    return load_config(CheckConfig, path)


def _data_gate(gate: DataGate, base: Path) -> GateResult:
    rules = None
    if gate.rules is not None:
        rules = Path(gate.rules) if Path(gate.rules).is_absolute() else base / gate.rules
        if not rules.is_file():
            raise Invalid(
                f"data gate for {gate.dataset}: rules file {rules} does not exist; fix "
                "data[].rules",
                field="data.rules",
            )
    report = validate_dataset(gate.dataset, rules, reference=gate.reference)
    details = [
        f"{r.name}: expected {r.expected}, observed {r.observed}"
        + (f" ({r.failing:,} rows)" if r.failing else "")
        for r in report.failed
    ]
    held = [
        f"{r.name}: {r.expected} ({r.observed})"
        for r in report.results
        if r.status is RuleStatus.PASSED
    ]
    return GateResult(
        kind="data",
        name=f"data {report.dataset or gate.dataset}",
        passed=report.passed,
        summary=report.summary(),
        details=details,
        passed_checks=held,
        failed_checks=details,
        data=report.model_dump(mode="json"),
    )


def _measured(c: MetricComparison) -> str:
    """One comparison in the metric's own units: values, and the margin it needed."""
    info = METRIC_TABLE.get(c.metric)
    show = info.format if info is not None else (lambda v: "n/a" if v is None else f"{v:.4g}")
    where = f" in segment {c.segment}" if c.segment else ""
    text = f"{c.role} {c.metric}{where}: challenger {show(c.challenger)}"
    if c.champion is not None:
        text += f", champion {show(c.champion)}"
    if c.role == "threshold":
        return text + f" (bound {c.required:g})"
    if c.better_by is not None:
        text += f", better by {c.better_by:+.4g} (needed {c.required:+.4g})"
    return text


def _quality_gate(gate: QualityGate, model: str) -> GateResult:
    evaluation = evaluate_challenger(
        model,
        gate.candidate,
        dataset=gate.dataset,
        label=gate.label,
        policy=gate.policy(),
        champion=gate.champion,
        where="quality",
    )
    measured = [_measured(c) for c in evaluation.comparisons if c.passed]
    return GateResult(
        kind="quality",
        name=f"quality {gate.metric} vs {gate.champion}",
        passed=evaluation.passed,
        summary=evaluation.headline(),
        details=evaluation.reasons + measured + evaluation.skipped_segments,
        passed_checks=measured,
        failed_checks=[_measured(c) for c in evaluation.comparisons if not c.passed],
        data=evaluation.model_dump(mode="json"),
    )


def run_check(
    config: CheckConfig,
    base: Path = Path("."),
    *,
    origin: str = DEFAULT_CONFIG,
    on_gate: Callable[[str], None] | None = None,
) -> CheckReport:
    """Run every gate of `config` (paths relative to `base`); `on_gate` hears each name."""
    jobs: list[tuple[str, Callable[[], GateResult]]] = []
    for data_gate in config.data:
        jobs.append((f"data {data_gate.dataset}", partial(_data_gate, data_gate, base)))
    if config.quality is not None:
        q = config.quality
        jobs.append((f"quality {q.metric}", partial(_quality_gate, q, _model(q.model, config))))
    for fair in config.fairness:
        gate = partial(run_fairness_gate, fair, _model(fair.model, config))
        jobs.append((f"fairness {fair.column}", gate))
    results = []
    for name, job in jobs:
        if on_gate is not None:
            on_gate(name)
        results.append(job())
    return CheckReport(config=origin, gates=results)


def check(
    config: str | Path = DEFAULT_CONFIG, *, candidate: str | int | None = None
) -> CheckReport:
    """Run the gates of the YAML file `config` (knot.check("knot-check.yaml")); with
    `candidate`, check that alias or version instead of the file's candidate."""
    parsed = load_check_config(config)
    if candidate is not None:
        parsed = parsed.with_candidate(candidate)
    return run_check(parsed, Path(config).parent, origin=str(config))


def _model(gate_model: str | None, config: CheckConfig) -> str:
    model = gate_model or config.model
    assert model is not None  # the config's validator makes sure of it
    return model


def gate_count(config: CheckConfig) -> int:
    return len(config.data) + (config.quality is not None) + len(config.fairness)
