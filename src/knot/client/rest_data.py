"""RestDataStore: the DataStore protocol over a Knot server's data routes.

Registering stages the source here, exactly as the SQL store does (so identical content
is found by digest before anything is sent), uploads the canonical Parquet file to the
server's artifact store (knot.client.rest_blobs; skipped when the server has it), then
asks the server to register that digest. Validation, profiles and diffs run on the
server, next to the data; loading downloads the blob and checks its digest here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter

from knot.artifacts import ArtifactStore, LocalBlobStore
from knot.client._http import ServerClient
from knot.client.rest_blobs import RestBlobs
from knot.data.diff import DatasetDiff
from knot.data.entities import Dataset, DatasetVersion
from knot.data.profile import Profile
from knot.data.rules.report import ValidationReport
from knot.data.rules.ruleset import RuleSet, load_rules
from knot.data.rules.validate import EXAMPLES
from knot.data.staging import stage
from knot.errors import Invalid
from knot.governance.lineage import Edge
from knot.refs import check_dataset_name, parse_dataset_ref

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["RestDataStore", "open_rest_data"]

_DATASETS = TypeAdapter(list[Dataset])
_VERSIONS = TypeAdapter(list[DatasetVersion])
_REPORTS = TypeAdapter(list[ValidationReport])
_RULES = TypeAdapter(RuleSet | None)
_REFS = TypeAdapter(list[str])

RulesArg = RuleSet | Mapping[str, Any] | str | Path


def _q(segment: str) -> str:
    # names go into the path: never let a "/" or "?" in one change the route
    return quote(segment, safe="")


def _rules_json(rules: RulesArg | None) -> dict[str, Any] | None:
    # a YAML path is a file on this machine: read it here, send the rules themselves
    if rules is None:
        return None
    dumped: dict[str, Any] = load_rules(rules).model_dump(mode="json", exclude_none=True)
    return dumped


class RestDataStore(ServerClient):
    """The datasets of the Knot server at `uri` (http://host:port)."""

    def __init__(self, uri: str, *, client: httpx.Client | None = None) -> None:
        super().__init__(uri, client=client)
        self.blobs = RestBlobs(self.uri, self._client)

    # registering -------------------------------------------------------------------
    def register(
        self,
        name: str,
        source: object,
        *,
        rules: RulesArg | None = None,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
        run_id: str | None = None,
        inputs: Sequence[str] = (),
    ) -> DatasetVersion:
        """Stage `source` here, upload it unless the server has it, register its digest."""
        check_dataset_name(name)
        payload: dict[str, Any] = {
            "rules": _rules_json(rules),
            "tags": {str(k): str(v) for k, v in (tags or {}).items()},
            "description": description,
            "run_id": run_id,
            "inputs": list(inputs),
        }
        with tempfile.TemporaryDirectory(prefix="knot-stage-") as tmp:
            # staging needs only a folder to write in; nothing is stored locally
            scratch = ArtifactStore(LocalBlobStore(Path(tmp)))
            with stage(source, scratch) as staged:
                self.blobs.upload(staged.path, staged.digest)
                payload.update(digest=staged.digest, source=staged.description[:1000])
                data = self._call("POST", f"/datasets/{_q(name)}/versions", payload)
        return DatasetVersion.model_validate_json(data)

    def add_edges(self, edges: Iterable[Edge]) -> None:
        """Record dataset -> run "input" edges, the ones the SDK writes on its own."""
        for edge in edges:
            if (edge.from_kind, edge.relation, edge.to_kind) != ("dataset", "input", "run"):
                raise Invalid(
                    f"a Knot server records only dataset -> run input edges from a client, "
                    f"not {edge.from_kind} -> {edge.to_kind} {edge.relation!r}; the server "
                    "writes the others with the change they belong to",
                    field="edges",
                )
            self._call(
                "POST", "/dataset-versions/inputs", {"ref": edge.from_id, "run_id": edge.to_id}
            )

    def run_inputs(self, run_id: str) -> list[str]:
        return _REFS.validate_json(self._call("GET", f"/runs/{_q(run_id)}/dataset-inputs"))

    # aliases and rules -------------------------------------------------------------
    def set_alias(self, ref: str, alias: str) -> DatasetVersion:
        name = parse_dataset_ref(ref).name
        data = self._call("PUT", f"/datasets/{_q(name)}/aliases/{_q(alias)}", {"ref": ref})
        return DatasetVersion.model_validate_json(data)

    def set_rules(self, name: str, rules: RulesArg | None) -> RuleSet | None:
        check_dataset_name(name)
        data = self._call("PUT", f"/datasets/{_q(name)}/rules", {"rules": _rules_json(rules)})
        return _RULES.validate_json(data)

    def rules(self, name: str) -> RuleSet | None:
        check_dataset_name(name)
        return _RULES.validate_json(self._call("GET", f"/datasets/{_q(name)}/rules"))

    # reading -----------------------------------------------------------------------
    def get(self, ref: str) -> DatasetVersion:
        parse_dataset_ref(ref)  # a malformed reference fails before a request is sent
        data = self._call("GET", "/dataset-versions", params={"ref": ref})
        return DatasetVersion.model_validate_json(data)

    def read_table(self, ref: str, columns: Sequence[str] | None = None) -> pa.Table:
        """The version's rows, downloaded and checked against its digest here."""
        import pyarrow.parquet as pq

        version = self.get(ref)
        if columns is not None:
            unknown = [c for c in columns if version.column(c) is None]
            if unknown:
                raise Invalid(
                    f"{version.ref} has no column {unknown}; it has "
                    f"{', '.join(c.name for c in version.columns)}",
                    field="columns",
                )
        with self.blobs.downloaded(version.digest) as path:
            return pq.read_table(path, columns=list(columns) if columns else None)

    def profile(self, ref: str) -> Profile:
        data = self._call("GET", "/dataset-versions/profile", params={"ref": ref})
        return Profile.model_validate_json(data)

    def validate(
        self,
        ref: str,
        rules: RulesArg | None = None,
        *,
        reference: str | None = None,
        examples: int = EXAMPLES,
    ) -> ValidationReport:
        body = {
            "ref": ref,
            "rules": _rules_json(rules),
            "reference": reference,
            "examples": examples,
        }
        data = self._call("POST", "/dataset-versions/validate", body)
        return ValidationReport.model_validate_json(data)

    def diff(self, a: str, b: str) -> DatasetDiff:
        data = self._call("GET", "/dataset-versions/diff", params={"a": a, "b": b})
        return DatasetDiff.model_validate_json(data)

    def reports(self, ref: str) -> list[ValidationReport]:
        data = self._call("GET", "/dataset-versions/reports", params={"ref": ref})
        return _REPORTS.validate_json(data)

    def versions(self, name: str) -> list[DatasetVersion]:
        check_dataset_name(name)
        return _VERSIONS.validate_json(self._call("GET", f"/datasets/{_q(name)}/versions"))

    def list_datasets(self) -> list[Dataset]:
        return _DATASETS.validate_json(self._call("GET", "/datasets"))

    def get_dataset(self, name: str) -> Dataset:
        check_dataset_name(name)
        return Dataset.model_validate_json(self._call("GET", f"/datasets/{_q(name)}"))


def open_rest_data(uri: str, tracking: object = None) -> RestDataStore:
    """The datasets at `uri`, sharing the tracking client's connection pool when given."""
    client = getattr(tracking, "_client", None)
    return RestDataStore(uri, client=client if isinstance(client, httpx.Client) else None)
