"""The data store on SQLite, PostgreSQL and a live server: sources, identical
re-registration, rejection, aliases, reports, audit records and every bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from knot.data.blobs import verified_file
from knot.data.entities import VersionStatus
from knot.data.protocol import DataStore
from knot.data.tables import dataset_versions
from knot.errors import Corrupted, Invalid, NotFound
from knot.governance import audit
from knot.governance.tables import audit_log
from knot.store.database import Database
from tests.data.conftest import DataBackend

RULES = {"columns": {"age": {"min": 18, "max": 120}}}


def _count_versions(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(dataset_versions)).scalar() or 0)


def test_register_and_load_a_dataframe(data_store: DataStore, frame: pd.DataFrame) -> None:
    v = data_store.register("churn", frame, tags={"origin": "test"}, description="customers")
    assert (v.ref, v.rows, v.status, v.tags) == (
        "churn@1",
        200,
        VersionStatus.ACCEPTED,
        {"origin": "test"},
    )
    assert v.digest.startswith("sha256:")
    kinds = {c.name: c.kind for c in v.columns}
    assert kinds == {
        "id": "integer",
        "age": "integer",
        "plan": "categorical",
        "email": "string",
        "spend": "float",
        "status": "string",
        "signed_up": "timestamp",
    }
    assert v.column("plan").categories == ["basic", "plus", "pro"]  # type: ignore[union-attr]
    assert v.column("email").nullable and not v.column("age").nullable  # type: ignore[union-attr]
    back = data_store.read_table("churn").to_pandas()
    pd.testing.assert_frame_equal(back, frame, check_dtype=False, check_categorical=False)
    assert data_store.read_table("churn@1", ["age"]).column_names == ["age"]


def test_identical_content_returns_the_existing_version(
    data_backend: DataBackend, frame: pd.DataFrame, tmp_path: Path
) -> None:
    data_store = data_backend.store
    first = data_store.register("churn", frame)
    again = data_store.register("churn", frame.copy())
    table = pa.Table.from_pandas(frame, preserve_index=False)
    # the same rows from an Arrow table chunked differently and from a Parquet file
    chunked = pa.Table.from_batches(table.to_batches(max_chunksize=7))
    pq.write_table(table, tmp_path / "same.parquet", row_group_size=33, compression="gzip")
    assert data_store.register("churn", chunked) == first
    assert data_store.register("churn", tmp_path / "same.parquet") == first
    assert again == first
    assert _count_versions(data_backend.db) == 1
    changed = data_store.register("churn", frame.assign(age=frame.age + 1))
    assert changed.version == 2 and changed.digest != first.digest


def test_identical_csv_re_registration(data_store: DataStore, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("a,b\n1,x\n2,y\n")
    first = data_store.register("c", path)
    assert data_store.register("c", str(path)) == first


def test_csv_with_mixed_types_becomes_string_and_keeps_every_value(
    data_store: DataStore, tmp_path: Path
) -> None:
    rows = [f"{i},{i * 0.5},{'n/a' if i == 30_000 else i}" for i in range(40_000)]
    path = tmp_path / "mixed.csv"
    path.write_text("id,score,code\n" + "\n".join(rows) + "\n")
    v = data_store.register("mixed", path)
    kinds = {c.name: c.kind for c in v.columns}
    assert kinds == {"id": "integer", "score": "float", "code": "string"}
    table = data_store.read_table("mixed")
    assert table.num_rows == 40_000
    assert table.column("code")[30_000].as_py() == "n/a"
    assert table.column("code")[29_999].as_py() == "29999"


def test_register_a_folder_of_parquet_files(
    data_store: DataStore, frame: pd.DataFrame, tmp_path: Path
) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table.slice(0, 120), folder / "part-0.parquet")
    pq.write_table(table.slice(120), folder / "part-1.parquet")
    v = data_store.register("parts", folder)
    assert v.rows == 200
    assert data_store.register("whole", table).digest == v.digest
    pq.write_table(table.drop_columns(["age"]), folder / "part-2.parquet")
    with pytest.raises(Invalid, match=r"part-2\.parquet has columns .* same schema"):
        data_store.register("parts", folder)


def test_bad_sources_are_refused_and_change_nothing(
    data_backend: DataBackend, tmp_path: Path
) -> None:
    data_store = data_backend.store
    (tmp_path / "notes.parquet").write_text("this is not parquet")
    (tmp_path / "data.bin").write_bytes(b"\x00\x01")
    (tmp_path / "empty").mkdir()
    (tmp_path / "garbage.csv").write_bytes(b"\x00\xff\xfe garbage\n\x01\x02")
    cases = [
        (tmp_path / "garbage.csv", Invalid, "could not be read as CSV"),
        (tmp_path / "notes.parquet", Invalid, "not a readable Parquet file"),
        (tmp_path / "data.bin", Invalid, "neither Parquet nor CSV"),
        (tmp_path / "missing.csv", NotFound, "does not exist"),
        (tmp_path / "empty", Invalid, "holds no .parquet files"),
        (42, Invalid, "cannot register a dataset from int"),
        (pd.DataFrame({"x": [1, "a"]}), Invalid, "Conversion failed for column x"),
    ]
    for source, error, message in cases:
        with pytest.raises(error, match=message):
            data_store.register("bad", source)
    with pytest.raises(Invalid, match="dataset name 'a b' is not allowed"):
        data_store.register("a b", pd.DataFrame({"x": [1]}))
    assert _count_versions(data_backend.db) == 0
    assert data_store.list_datasets() == []


def test_corrupted_blob_is_an_error_not_a_silent_load(
    data_backend: DataBackend, frame: pd.DataFrame
) -> None:
    data_store = data_backend.store
    v = data_store.register("churn", frame)
    with verified_file(data_backend.artifacts, v.digest) as path:
        blob = path
    original = blob.read_bytes()
    data = bytearray(original)
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    try:
        with pytest.raises(Corrupted, match="corrupted"):
            data_store.read_table("churn@1")
        with pytest.raises(Corrupted):
            data_store.validate("churn@1", RULES)
    finally:
        blob.write_bytes(original)  # the live server's artifact store outlives this test


def test_rejected_version_is_stored_but_never_latest(
    data_backend: DataBackend, frame: pd.DataFrame
) -> None:
    data_store = data_backend.store
    good = data_store.register("churn", frame, rules=RULES)
    assert good.status is VersionStatus.ACCEPTED and good.report_id
    bad = data_store.register("churn", frame.assign(age=frame.age + 200))  # rules kept
    assert (bad.ref, bad.status) == ("churn@2", VersionStatus.REJECTED)
    assert data_store.get("churn").ref == "churn@1"
    assert data_store.get("churn@latest").ref == "churn@1"
    assert data_store.get("churn@2").status is VersionStatus.REJECTED
    [report] = data_store.reports("churn@2")
    assert not report.passed and report.report_id == bad.report_id
    assert report.failed[0].name == "age.range" and report.failed[0].failing == 200
    listed = data_store.list_datasets()[0]
    assert (listed.versions, listed.latest, listed.has_rules) == (2, 1, True)
    with data_backend.db.read() as conn:
        actions = [
            (r.action, r.entity_id)
            for r in conn.execute(
                select(audit_log.c.action, audit_log.c.entity_id).order_by(audit_log.c.seq)
            )
        ]
        assert audit.verify(conn) == []
    assert actions == [
        ("create", "churn"),
        ("set_rules", "churn"),
        ("create", "churn@1"),
        ("create", "churn@2"),
        ("reject", "churn@2"),
    ]


def test_only_rejected_versions_means_no_latest(data_store: DataStore, frame: pd.DataFrame) -> None:
    data_store.register("churn", frame.assign(age=0), rules=RULES)
    with pytest.raises(NotFound, match="no accepted version"):
        data_store.get("churn")


def test_aliases_move_and_are_audited(data_backend: DataBackend, frame: pd.DataFrame) -> None:
    data_store = data_backend.store
    data_store.register("churn", frame)
    data_store.register("churn", frame.head(50))
    assert data_store.set_alias("churn@1", "prod").ref == "churn@1"
    assert data_store.get("churn@prod").version == 1
    data_store.set_alias("churn@2", "prod")
    assert data_store.get("churn@prod").version == 2
    assert data_store.list_datasets()[0].aliases == {"prod": 2}
    with pytest.raises(Invalid, match="alias 'latest' is kept"):
        data_store.set_alias("churn@1", "latest")
    with pytest.raises(NotFound, match="no alias 'staging'; its aliases: prod"):
        data_store.get("churn@staging")
    with data_backend.db.read() as conn:
        rows = conn.execute(
            select(audit_log.c.before, audit_log.c.after)
            .where(audit_log.c.action == "alias")
            .order_by(audit_log.c.seq)
        ).all()
    assert [(json.loads(r.before), json.loads(r.after)) for r in rows] == [
        (None, {"version": 1}),
        ({"version": 1}, {"version": 2}),
    ]


@pytest.mark.parametrize(
    ("ref", "error", "message"),
    [
        ("nope", NotFound, "dataset 'nope' not found"),
        ("churn@9", NotFound, "has no version 9; it has 1 version"),
        ("churn@0", Invalid, r"dataset version 0 .*versions are 1, 2, 3.*; use NAME@VERSION"),
        ("churn@", Invalid, r"alias '' is not allowed.*; use NAME@VERSION"),
        ("", Invalid, "empty"),
    ],
)
def test_unknown_references(
    data_store: DataStore, frame: pd.DataFrame, ref: str, error: type[Exception], message: str
) -> None:
    data_store.register("churn", frame)
    with pytest.raises(error, match=message):
        data_store.get(ref)


def test_validate_stores_and_links_the_report(data_store: DataStore, frame: pd.DataFrame) -> None:
    data_store.register("churn", frame)
    with pytest.raises(Invalid, match="no rule set attached"):
        data_store.validate("churn@1")
    report = data_store.validate("churn@1", {"columns": {"age": {"max": 50}}})
    assert not report.passed and report.dataset == "churn@1"
    assert [r.report_id for r in data_store.reports("churn@1")] == [report.report_id]


def test_reference_latest_compares_with_the_previous_accepted_version(
    data_store: DataStore, frame: pd.DataFrame
) -> None:
    rules = {"columns": {"spend": {"mean_within": 0.1}}, "table": {"reference": "churn@latest"}}
    first = data_store.register("churn", frame, rules=rules)
    assert first.status is VersionStatus.ACCEPTED  # nothing to compare with yet: skipped
    close = data_store.register("churn", frame.assign(spend=frame.spend * 1.05))
    assert close.status is VersionStatus.ACCEPTED
    far = data_store.register("churn", frame.assign(spend=frame.spend * 3))
    assert far.status is VersionStatus.REJECTED


def test_diff_reports_schema_and_statistics(data_store: DataStore, frame: pd.DataFrame) -> None:
    data_store.register("churn", frame)
    changed = frame.drop(columns=["status"]).assign(
        spend=frame.spend * 2, age=frame.age.astype(float), extra=1
    )
    data_store.register("churn", changed)
    diff = data_store.diff("churn@1", "churn@2")
    assert {(c.column, c.change) for c in diff.schema_changes} == {
        ("extra", "added"),
        ("status", "removed"),
        ("age", "type"),
    }
    moved = {(s.column, s.stat) for s in diff.changed_stats}
    assert ("spend", "mean") in moved and ("id", "mean") not in moved
    assert data_store.diff("churn@1", "churn@1").same_content


def test_a_name_with_folders_works_everywhere(data_store: DataStore, frame: pd.DataFrame) -> None:
    v = data_store.register(
        "team/churn", frame.head(20), rules={"table": {"row_count": {"min": 1}}}
    )
    assert v.ref == "team/churn@1" and data_store.get("team/churn").digest == v.digest
    assert data_store.set_alias("team/churn@1", "prod").ref == "team/churn@1"
    assert [x.ref for x in data_store.versions("team/churn")] == ["team/churn@1"]
    assert data_store.get_dataset("team/churn").aliases == {"prod": 1}
    assert data_store.rules("team/churn") is not None
    assert data_store.set_rules("team/churn", None) is None
    assert data_store.read_table("team/churn@prod").num_rows == 20
