"""A page of runs built from the JSON the database renders (knot.tracking.sql.run_json),
each distinct source validated once.

Every run a process starts has the same source (its git state, command and package
versions, captured once per process), and validating that object again for each run
was a quarter of a search page's validation. So each run's JSON carries the index of
its source in the page's list of distinct sources, and every other field is validated
by Run's own pydantic schema for its fields, with only `source` swapped for a lookup
in that list. pydantic-core would reuse Run's compiled validator for a schema naming
the Run class, swap or not, so the fields are validated as a whole and each Run is then
assembled from them exactly as pydantic assembles a validated model. The runs of a page
that share a source share one RunSource object, as the runs one process starts already
do (knot.tracking.source caches it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import TypeAdapter
from pydantic_core import SchemaValidator, core_schema

from knot.tracking.entities import Run, RunSource

__all__ = ["validate_page"]

_SOURCE = TypeAdapter(RunSource)
_new = object.__new__
_set = object.__setattr__


def _shared_source(index: Any, info: core_schema.ValidationInfo) -> RunSource:
    sources = info.context
    if type(index) is not int or not isinstance(sources, list) or not 0 <= index < len(sources):
        raise ValueError(f"source {index!r} is not an index into this page's sources")
    found: RunSource = sources[index]
    return found


def _fields_validator() -> SchemaValidator:
    """list of Run's fields, as (values, extra, fields set) triples, where a run's
    "source" is an index into the validation context."""
    run = Run.__pydantic_core_schema__
    fields_schema = run.get("schema", {}) if run.get("type") == "model" else {}
    fields = fields_schema.get("fields")
    if (
        fields_schema.get("type") != "model-fields"
        or not isinstance(fields, dict)
        or ("source" not in fields)
    ):
        raise RuntimeError(
            "knot.tracking.entities.Run's pydantic schema is not a plain model with a "
            "'source' field; knot/tracking/sql/run_page.py needs updating for it"
        )
    lookup = core_schema.with_info_plain_validator_function(_shared_source)
    swapped: Any = {
        **fields_schema,
        "fields": {**fields, "source": {**fields["source"], "schema": lookup}},
    }
    return SchemaValidator(core_schema.list_schema(swapped), run.get("config"))


_FIELDS = _fields_validator()


def validate_page(rows: Iterable[Sequence[str]]) -> list[Run]:
    """The runs of (source JSON, rest of the run's JSON) rows, as run_json_parts renders
    them, in the order given."""
    sources: dict[str, int] = {}
    parts = []
    for source, rest in rows:
        index = sources.get(source)
        if index is None:
            index = sources[source] = len(sources)
        parts.append(f'{{"source":{index},{rest}')
    shared = [_SOURCE.validate_json(text) for text in sources]
    validated = _FIELDS.validate_json("[" + ",".join(parts) + "]", context=shared)
    runs = []
    for values, extra, fields_set in validated:
        run = _new(Run)
        _set(run, "__dict__", values)
        _set(run, "__pydantic_fields_set__", fields_set)
        _set(run, "__pydantic_extra__", extra)
        _set(run, "__pydantic_private__", None)
        runs.append(run)
    return runs
