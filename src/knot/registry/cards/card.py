"""Model cards: one page per version, generated from what Knot recorded (metrics, params,
training data and its validations, signature, environment, promotions) plus the fields
people fill in (description, intended use, limitations).

The card is built once as a list of sections; Markdown and HTML render the same list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from knot.data.rules.report import ValidationReport
from knot.page import write_text
from knot.registry.cards.card_html import card_page
from knot.registry.cards.content import Card, Section
from knot.registry.entities import ModelVersion, PromotionRequest, TrainingData
from knot.tracking.entities import Run

__all__ = ["Card", "Section", "build_card", "model_card", "render_markdown"]


def _when(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _filled(value: str | None, hint: str) -> str:
    return value.strip() if value and value.strip() else f"Not filled in yet: {hint}."


def _training(version: ModelVersion, data: list[TrainingData]) -> Section:
    if not data:
        return Section(
            "Training data",
            f"No dataset version is recorded as an input of run {version.run_id}; record one "
            "with run.use_dataset(...) so the card and the lineage show it.",
        )
    # the validation reports of each version have a section of their own (_validations)
    rows = tuple((d.dataset, d.relation) for d in data)
    return Section("Training data", columns=("dataset version", "used as"), rows=rows)


def _validations(reports: Mapping[str, Sequence[ValidationReport]]) -> Section:
    """The validation reports recorded for each training dataset version, newest last."""
    rows = tuple(
        (
            dataset,
            _when(r.created_at),
            "passed" if r.passed else "FAILED",
            r.summary(),
        )
        for dataset, found in reports.items()
        for r in found
    )
    if not rows:
        return Section(
            "Validation of the training data",
            "No validation report is recorded for the dataset versions above; register "
            "them with rules (knot data register NAME FILE --rules rules.yaml).",
        )
    return Section(
        "Validation of the training data",
        columns=("dataset version", "validated", "result", "summary"),
        rows=rows,
    )


def build_card(
    version: ModelVersion,
    run: Run | None,
    training: list[TrainingData],
    requests: list[PromotionRequest],
    reports: Mapping[str, Sequence[ValidationReport]] | None = None,
) -> Card:
    """Everything the card shows, from what the stores returned."""
    name, number = version.name, version.version
    fill = f'`knot models update {name} {number} --{{}} "..."`'
    aliases = ", ".join(version.aliases) or "none"
    summary = (
        f"{version.uri} · aliases: {aliases} · status: {version.status.value} · flavor: "
        f"{version.flavor} · registered {_when(version.created_at)} by {version.created_by} "
        f"from run {version.run_id}" + (f" ({run.name})" if run else "")
    )
    sections = [
        Section("Description", _filled(version.description, fill.format("description"))),
        Section("Intended use", _filled(version.intended_use, fill.format("intended-use"))),
        Section("Limitations", _filled(version.limitations, fill.format("limitations"))),
    ]
    metrics: dict[str, float] = {}
    if run is not None:
        metric_rows = []
        for key, m in sorted(run.metrics.items()):
            metrics[key] = m.latest
            metric_rows.append(
                (key, f"{m.latest:.6g}", f"{m.min:.6g}", f"{m.max:.6g}", str(m.count))
            )
        sections.append(
            Section(
                "Metrics",
                columns=("metric", "latest", "min", "max", "points"),
                rows=tuple(metric_rows),
            )
            if metric_rows
            else Section("Metrics", "The run logged no metrics.")
        )
        params = tuple(sorted(run.params.items()))
        sections.append(
            Section("Parameters", columns=("param", "value"), rows=params)
            if params
            else Section("Parameters", "The run logged no parameters.")
        )
    sections.append(_training(version, training))
    if reports is not None:
        sections.append(_validations(reports))
    sig = version.signature
    if sig is None:
        sections.append(
            Section("Signature", "Unknown: the model was logged without input_example.")
        )
    else:
        inputs = tuple(
            (c.name or "(tensor)", c.type, "" if c.shape is None else str(c.shape))
            for c in sig.inputs
        )
        sections.append(
            Section(f"Inputs ({sig.input_kind})", columns=("name", "type", "shape"), rows=inputs)
        )
        outputs = tuple(
            (c.name or "(prediction)", c.type, "" if c.shape is None else str(c.shape))
            for c in sig.outputs
        )
        sections.append(Section("Outputs", columns=("name", "type", "shape"), rows=outputs))
    env = version.environment
    sections.append(
        Section(
            "Environment",
            f"Python {env.python}. Artifact {version.artifact_path} = {version.artifact_digest}.",
            columns=("package", "version"),
            rows=tuple(sorted(env.packages.items())),
        )
    )
    history = tuple(
        (
            _when(r.requested_at),
            r.alias,
            r.status.value,
            r.requested_by,
            r.decided_by or "",
            r.decision_comment or r.comment or "",
        )
        for r in requests
        if r.version == number
    )
    sections.append(
        Section(
            "Promotions",
            "" if history else "This version was never promoted.",
            columns=("requested", "alias", "status", "by", "decided by", "comment")
            if history
            else (),
            rows=history,
        )
    )
    return Card(f"Model card: {name} v{number}", summary, sections, metrics)


def _md_cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def render_markdown(card: Card) -> str:
    lines = [f"# {card.title}", "", card.summary, ""]
    for section in card.sections:
        lines += [f"## {section.title}", ""]
        if section.text:
            lines += [section.text, ""]
        if section.columns:
            lines.append("| " + " | ".join(section.columns) + " |")
            lines.append("|" + "---|" * len(section.columns))
            lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in section.rows]
            lines.append("")
    return "\n".join(lines)


def model_card(
    name: str,
    version: int,
    *,
    html: str | Path | None = None,
    markdown: str | Path | None = None,
) -> str:
    """The card of `name` version `version` as Markdown; also written to `markdown` and,
    as an HTML page with a metrics chart, to `html` when given."""
    from knot.registry.fluent import registry
    from knot.tracking.datasets import dataset_reports
    from knot.tracking.fluent import get_run

    store = registry()
    found = store.get_version(name, version)
    training = store.training_data(name, version)
    card = build_card(
        found,
        get_run(found.run_id),
        training,
        store.list_requests(name),
        {d.dataset: dataset_reports(d.dataset) for d in training},
    )
    text = render_markdown(card)
    if markdown is not None:
        write_text(markdown, text)
    if html is not None:
        card_page(card).write_html(html)
    return text
