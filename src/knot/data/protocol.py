"""The data store interface. The SQL DatasetStore and the REST client of a Knot server
both implement it, and one conformance suite (tests/data/) runs against every one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pyarrow as pa

    from knot.data.diff import DatasetDiff
    from knot.data.entities import Dataset, DatasetVersion
    from knot.data.profile import Profile
    from knot.data.rules.report import ValidationReport
    from knot.data.rules.ruleset import RuleSet
    from knot.governance.lineage import Edge

__all__ = ["DataStore"]


@runtime_checkable
class DataStore(Protocol):
    """Datasets and their immutable versions, with rules, reports and lineage links."""

    def register(
        self,
        name: str,
        source: object,
        *,
        rules: RuleSet | Mapping[str, Any] | str | Path | None = None,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
        run_id: str | None = None,
        inputs: Sequence[str] = (),
    ) -> DatasetVersion: ...

    def add_edges(self, edges: Iterable[Edge]) -> None: ...

    def set_alias(self, ref: str, alias: str) -> DatasetVersion: ...

    def set_rules(
        self, name: str, rules: RuleSet | Mapping[str, Any] | str | Path | None
    ) -> RuleSet | None: ...

    def rules(self, name: str) -> RuleSet | None: ...

    def get(self, ref: str) -> DatasetVersion: ...

    def read_table(self, ref: str, columns: Sequence[str] | None = None) -> pa.Table: ...

    def profile(self, ref: str) -> Profile: ...

    def validate(
        self,
        ref: str,
        rules: RuleSet | Mapping[str, Any] | str | Path | None = None,
        *,
        reference: str | None = None,
        examples: int = 5,
    ) -> ValidationReport: ...

    def diff(self, a: str, b: str) -> DatasetDiff: ...

    def reports(self, ref: str) -> list[ValidationReport]: ...

    def versions(self, name: str) -> list[DatasetVersion]: ...

    def list_datasets(self) -> list[Dataset]: ...

    def get_dataset(self, name: str) -> Dataset: ...

    def run_inputs(self, run_id: str) -> list[str]: ...
