"""/api/v1 routes of the data area: datasets, versions, aliases, rule sets, validation
reports, profiles and diffs, computed here, where the data lives.

A client registers a version by uploading the staged Parquet file to /blobs/{digest}
first (knot.client.rest_blobs) and then naming that digest here. The server stages the
blob again, so what it stores is exactly Knot's canonical form, checked, profiled and
validated by the server, never the client's word for it. Reads need a viewer; every
write (register, alias, rules, validate, input links) an editor.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, Strict

from knot.artifacts import ArtifactStore, check_digest
from knot.data.blobs import verified_file
from knot.data.diff import DatasetDiff
from knot.data.entities import Dataset, DatasetVersion
from knot.data.profile import Profile
from knot.data.rules.report import ValidationReport
from knot.data.rules.ruleset import RuleSet, load_rules
from knot.data.rules.validate import EXAMPLES
from knot.data.staging import stage
from knot.data.store import DatasetStore
from knot.errors import Invalid, KnotError
from knot.governance.lineage import Edge
from knot.refs import DATASET_NAME_PATTERN, check_dataset_name, parse_dataset_ref
from knot.server.artifact_deps import get_artifacts
from knot.server.deps import get_store
from knot.server.routes.blobs import missing_blob
from knot.store.database import database_of
from knot.tracking.protocol import TrackingStore

__all__ = ["router"]

router = APIRouter()

_MAX_EXAMPLES = 1000


def get_data(
    tracking: Annotated[TrackingStore, Depends(get_store)],
    artifacts: Annotated[ArtifactStore, Depends(get_artifacts)],
) -> DatasetStore:
    """FastAPI dependency: the data store on the server's database and artifact store."""
    return DatasetStore(database_of(tracking, tracking.uri, "datasets need"), artifacts)


Data = Annotated[DatasetStore, Depends(get_data)]
Ref = Annotated[str, Query(description="NAME@VERSION, NAME@ALIAS or NAME (latest)")]
# documented, and checked by the store, whose message names the rule broken
Name = Annotated[
    str,
    PathParam(description="a dataset name", json_schema_extra={"pattern": DATASET_NAME_PATTERN}),
]


def _json(model: BaseModel | None) -> Response:
    # the entities' own serializer writes NaN and infinities as strings, as they parse
    body = b"null" if model is None else model.model_dump_json().encode()
    return Response(body, media_type="application/json")


def _list(models: list[Any]) -> Response:
    body = b"[" + b",".join(m.model_dump_json().encode() for m in models) + b"]"
    return Response(body, media_type="application/json")


def _rules(rules: dict[str, Any] | None) -> RuleSet | None:
    return load_rules(rules) if rules is not None else None


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VersionCreate(_Body):
    digest: str = Field(description="the uploaded canonical Parquet blob (PUT /blobs)")
    source: str | None = Field(None, max_length=1000, description="what the client read")
    rules: dict[str, Any] | None = None
    tags: dict[str, str] | None = None
    description: str | None = None
    run_id: str | None = None
    inputs: list[str] = Field(default_factory=list)


class AliasBody(_Body):
    ref: str


class RulesBody(_Body):
    rules: dict[str, Any] | None


class ValidateBody(_Body):
    ref: str
    rules: dict[str, Any] | None = None
    reference: str | None = None
    examples: Annotated[int, Strict()] = Field(EXAMPLES, ge=0, le=_MAX_EXAMPLES)


class InputBody(_Body):
    ref: str
    run_id: str


# datasets ----------------------------------------------------------------------------
@router.get("/datasets", tags=["data"], response_model=list[Dataset])
def list_datasets(data: Data) -> Response:
    return _list(data.list_datasets())


@router.get("/datasets/{name:path}/versions", tags=["data"], response_model=list[DatasetVersion])
def list_versions(name: Name, data: Data) -> Response:
    return _list(data.versions(name))


@router.post(
    "/datasets/{name:path}/versions",
    status_code=status.HTTP_201_CREATED,
    tags=["data"],
    response_model=DatasetVersion,
)
def register(
    name: Name,
    body: VersionCreate,
    data: Data,
    tracking: Annotated[TrackingStore, Depends(get_store)],
) -> Response:
    """Register the uploaded blob `digest` as the next version of `name` (or return the
    version that holds it). Rejected versions are stored with their report."""
    check_dataset_name(name)
    digest = check_digest(body.digest)
    ruleset = _rules(body.rules)
    if body.run_id is not None:
        tracking.get_run(body.run_id)  # NotFound names the run
    if not data.artifacts.exists(digest):
        raise missing_blob(digest)
    with ExitStack() as stack:
        path = stack.enter_context(verified_file(data.artifacts, digest))
        try:
            staged = stack.enter_context(stage(path, data.artifacts))
        except KnotError as exc:
            # the message names the server's blob path: name the digest instead
            shown = exc.message.replace(str(path), f"blob {digest}")
            raise Invalid(
                f"blob {digest} is not a table Knot can read ({shown}); upload the Parquet "
                "file knot.register_dataset stages",
                field="digest",
            ) from None
        if staged.digest != digest:
            raise Invalid(
                f"blob {digest} is not a dataset in Knot's canonical Parquet form (it "
                f"stages to {staged.digest}); upload what knot.register_dataset stages",
                field="digest",
            )
        staged.description = body.source or "an upload"
        version = data.register_staged(
            name,
            staged,
            rules=ruleset,
            tags=body.tags,
            description=body.description,
            run_id=body.run_id,
            inputs=[data.get(ref).ref for ref in body.inputs],
        )
    return Response(version.model_dump_json(), status_code=201, media_type="application/json")


@router.get("/datasets/{name:path}/rules", tags=["data"], response_model=RuleSet | None)
def get_rules(name: Name, data: Data) -> Response:
    check_dataset_name(name)
    data.get_dataset(name)  # 404 for a dataset that does not exist
    return _json(data.rules(name))


@router.put("/datasets/{name:path}/rules", tags=["data"], response_model=RuleSet | None)
def set_rules(name: Name, body: RulesBody, data: Data) -> Response:
    """Attach the rule set every new version must pass (null removes it)."""
    check_dataset_name(name)
    return _json(data.set_rules(name, _rules(body.rules)))


@router.put("/datasets/{name:path}/aliases/{alias}", tags=["data"], response_model=DatasetVersion)
def set_alias(name: Name, alias: str, body: AliasBody, data: Data) -> Response:
    """Point `alias` at the version `ref` names (a version of `name`)."""
    ref = parse_dataset_ref(body.ref)
    if ref.name != name:
        raise Invalid(
            f"ref {body.ref!r} names dataset {ref.name!r}, not {name!r}; send a version of {name}",
            field="ref",
        )
    return _json(data.set_alias(body.ref, alias))


# versions ----------------------------------------------------------------------------
@router.get("/dataset-versions", tags=["data"], response_model=DatasetVersion)
def get_version(ref: Ref, data: Data) -> Response:
    """The version a reference resolves to; 404 says what exists."""
    return _json(data.get(ref))


@router.get("/dataset-versions/profile", tags=["data"], response_model=Profile)
def profile(ref: Ref, data: Data) -> Response:
    return _json(data.profile(ref))


@router.get("/dataset-versions/reports", tags=["data"], response_model=list[ValidationReport])
def reports(ref: Ref, data: Data) -> Response:
    """Every validation report stored for the version, oldest first."""
    return _list(data.reports(ref))


@router.get("/dataset-versions/diff", tags=["data"], response_model=DatasetDiff)
def diff(a: Ref, b: Ref, data: Data) -> Response:
    """Schema, row count and statistics changes from version `a` to version `b`."""
    return _json(data.diff(a, b))


@router.post("/dataset-versions/validate", tags=["data"], response_model=ValidationReport)
def validate(body: ValidateBody, data: Data) -> Response:
    """Check a version against `rules` (default: the dataset's); the report is stored."""
    report = data.validate(
        body.ref, _rules(body.rules), reference=body.reference, examples=body.examples
    )
    return _json(report)


@router.post("/dataset-versions/inputs", status_code=status.HTTP_204_NO_CONTENT, tags=["data"])
def add_input(
    body: InputBody, data: Data, tracking: Annotated[TrackingStore, Depends(get_store)]
) -> Response:
    """Record the exact version `ref` resolves to as an input of run `run_id`."""
    version = data.get(body.ref)
    tracking.get_run(body.run_id)
    data.add_edges([Edge("dataset", version.ref, "input", "run", body.run_id)])
    return Response(status_code=204)


@router.get("/runs/{run_id}/dataset-inputs", tags=["data"], response_model=list[str])
def run_inputs(
    run_id: str, data: Data, tracking: Annotated[TrackingStore, Depends(get_store)]
) -> list[str]:
    """The dataset versions recorded as inputs of a run."""
    tracking.get_run(run_id)  # NotFound names the run
    return data.run_inputs(run_id)


# last: its {name:path} would also match the routes above (a name may hold "/")
@router.get("/datasets/{name:path}", tags=["data"], response_model=Dataset)
def get_dataset(name: Name, data: Data) -> Response:
    return _json(data.get_dataset(name))
