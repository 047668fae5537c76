"""DatasetStore: the data area's repository over the metadata database and the
artifact store. Versions are immutable; every change is one transaction that also
writes its audit record and lineage edges."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import func, select

from knot.artifacts import ArtifactStore
from knot.data import lookups, records
from knot.data.blobs import verified_file
from knot.data.diff import DatasetDiff, diff_versions
from knot.data.entities import Dataset, DatasetVersion, VersionStatus
from knot.data.profile import Profile, compute_profile
from knot.data.rules.report import ValidationReport
from knot.data.rules.ruleset import RuleSet, load_rules
from knot.data.rules.validate import EXAMPLES, validate_parquet
from knot.data.staging import Staged, stage
from knot.data.tables import dataset_aliases, dataset_versions, datasets, validation_reports
from knot.errors import Invalid, NotFound
from knot.governance import audit
from knot.governance.identity import current_actor
from knot.governance.lineage import Edge, add_edges, edges_to
from knot.refs import LATEST, check_alias, check_dataset_name, parse_dataset_ref
from knot.store.database import Database, now_ms

__all__ = ["DatasetStore"]

RulesArg = RuleSet | Mapping[str, Any] | str | Path


class DatasetStore:
    """Datasets and their versions in one metadata database and one artifact store."""

    def __init__(self, db: Database, artifacts: ArtifactStore) -> None:
        self.db = db
        self.artifacts = artifacts

    # registering ---------------------------------------------------------------
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
        """Store `source` as the next version of `name`, or return the version that already
        holds the same content. With `rules` (or rules attached earlier) the version is
        validated first and stored as rejected if it fails; a rejected version never
        becomes latest. `run_id` and `inputs` record it as that run's output."""
        check_dataset_name(name)
        ruleset = load_rules(rules) if rules is not None else None
        with stage(source, self.artifacts) as staged:
            return self.register_staged(
                name,
                staged,
                rules=ruleset,
                tags=tags,
                description=description,
                run_id=run_id,
                inputs=inputs,
            )

    def register_staged(
        self,
        name: str,
        staged: Staged,
        *,
        rules: RuleSet | None = None,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
        run_id: str | None = None,
        inputs: Sequence[str] = (),
    ) -> DatasetVersion:
        """`register` of a staged source (the server stages what a client uploaded)."""
        check_dataset_name(name)
        version_tags = {str(k): str(v) for k, v in (tags or {}).items()}
        with self.db.read() as conn:
            existing = lookups.by_digest(conn, name, staged.digest)
            if existing is not None and rules is not None:
                records.refuse_other_rules(conn, existing, rules)
        if existing is not None:
            self._link(existing, run_id, inputs)
            return existing
        ruleset = rules or self.rules(name)
        report = self._check(name, staged, ruleset) if ruleset is not None else None
        self.artifacts.put_file(staged.path)
        return self._insert(
            name,
            staged,
            ruleset,
            rules is not None,
            report,
            version_tags,
            description,
            run_id,
            inputs,
        )

    def _check(self, name: str, staged: Staged, ruleset: RuleSet) -> ValidationReport:
        reference, reference_name = self._reference(ruleset, None)
        return validate_parquet(
            staged.path, ruleset, reference=reference, reference_name=reference_name
        )

    def _insert(
        self,
        name: str,
        staged: Staged,
        ruleset: RuleSet | None,
        attach: bool,
        report: ValidationReport | None,
        tags: dict[str, str],
        description: str | None,
        run_id: str | None,
        inputs: Sequence[str],
    ) -> DatasetVersion:
        now, actor = now_ms(), current_actor()
        status = VersionStatus.REJECTED if report and not report.passed else VersionStatus.ACCEPTED
        with self.db.write() as conn:
            records.lock_dataset(conn, name, description, now, actor)
            if attach:
                records.store_rules(conn, name, ruleset)
            row = conn.execute(
                select(*lookups.SUMMARY).where(
                    dataset_versions.c.name == name, dataset_versions.c.digest == staged.digest
                )
            ).first()
            if row is not None:  # a concurrent registration of the same content won
                return lookups.version_of(row)
            number = (
                conn.execute(
                    select(func.max(dataset_versions.c.version)).where(
                        dataset_versions.c.name == name
                    )
                ).scalar()
                or 0
            ) + 1
            ref = f"{name}@{number}"
            report_id = records.store_report(conn, name, number, ruleset, report, ref, now, actor)
            values = {
                "name": name,
                "version": number,
                "digest": staged.digest,
                "rows": staged.written.rows,
                "size": staged.size,
                "columns": json.dumps([c.model_dump() for c in staged.written.columns()]),
                "profile": staged.profile.model_dump_json(),
                "status": status.value,
                "description": description,
                "tags": json.dumps(tags, sort_keys=True),
                "source": staged.description,
                "created_at": now,
                "created_by": actor,
                "run_id": run_id,
                "report_id": report_id,
            }
            conn.execute(dataset_versions.insert(), values)
            summary = {k: values[k] for k in ("digest", "rows", "status", "run_id", "report_id")}
            audit.record(conn, "create", "dataset_version", ref, None, summary, actor)
            if status is VersionStatus.REJECTED and report is not None:
                failed = [r.name for r in report.failed]
                audit.record(
                    conn,
                    "reject",
                    "dataset_version",
                    ref,
                    None,
                    {"report_id": report_id, "failed": failed},
                    actor,
                )
            version = lookups.version_of(
                conn.execute(
                    select(*lookups.SUMMARY).where(
                        dataset_versions.c.name == name, dataset_versions.c.version == number
                    )
                ).one()
            )
            records.link_in(conn, version, run_id, inputs)
        return version

    def _link(self, version: DatasetVersion, run_id: str | None, inputs: Sequence[str]) -> None:
        if run_id is not None:
            with self.db.write() as conn:
                records.link_in(conn, version, run_id, inputs)

    def add_edges(self, edges: Iterable[Edge]) -> None:
        """Record lineage edges (e.g. dataset -> run "input") in one transaction."""
        with self.db.write() as conn:
            add_edges(conn, edges)

    def run_inputs(self, run_id: str) -> list[str]:
        """The dataset versions recorded as inputs of a run (e.g. ['churn@3'])."""
        with self.db.read() as conn:
            edges = edges_to(conn, "run", run_id)
        return [e.from_id for e in edges if e.from_kind == "dataset" and e.relation == "input"]

    # aliases and rules -----------------------------------------------------------
    def set_alias(self, ref: str, alias: str) -> DatasetVersion:
        """Point `alias` (e.g. prod) at the version `ref` names; moves it if it exists."""
        check_alias(alias)
        with self.db.write() as conn:
            version = lookups.resolve(conn, parse_dataset_ref(ref))
            t = dataset_aliases
            where = (t.c.name == version.name) & (t.c.alias == alias)
            before = conn.execute(select(t.c.version).where(where)).scalar()
            if before == version.version:
                return version
            if before is None:
                conn.execute(
                    t.insert(),
                    {
                        "name": version.name,
                        "alias": alias,
                        "version": version.version,
                        "updated_at": now_ms(),
                    },
                )
            else:
                conn.execute(
                    t.update().where(where).values(version=version.version, updated_at=now_ms())
                )
            audit.record(
                conn,
                "alias",
                "dataset",
                f"{version.name}@{alias}",
                {"version": before} if before else None,
                {"version": version.version},
            )
        return version

    def set_rules(self, name: str, rules: RulesArg | None) -> RuleSet | None:
        """Attach the rule set every new version of `name` must pass (None removes it)."""
        ruleset = load_rules(rules) if rules is not None else None
        with self.db.write() as conn:
            lookups.require_dataset(conn, name)
            records.store_rules(conn, name, ruleset)
        return ruleset

    def rules(self, name: str) -> RuleSet | None:
        with self.db.read() as conn:
            text = conn.execute(select(datasets.c.rules).where(datasets.c.name == name)).scalar()
        return RuleSet.model_validate(json.loads(text)) if text else None

    # reading ---------------------------------------------------------------------
    def get(self, ref: str) -> DatasetVersion:
        with self.db.read() as conn:
            return lookups.resolve(conn, parse_dataset_ref(ref))

    def read_table(self, ref: str, columns: Sequence[str] | None = None) -> pa.Table:
        """The version's rows as an Arrow table, after checking the blob's digest."""
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
        with verified_file(self.artifacts, version.digest) as path:
            return pq.read_table(path, columns=list(columns) if columns else None)

    def profile(self, ref: str) -> Profile:
        """The profile stored with the version (computed again if it was never stored)."""
        version = self.get(ref)
        with self.db.read() as conn:
            text = conn.execute(
                select(dataset_versions.c.profile).where(
                    dataset_versions.c.name == version.name,
                    dataset_versions.c.version == version.version,
                )
            ).scalar()
        if text:
            return Profile.model_validate_json(text)
        with verified_file(self.artifacts, version.digest) as path:
            profile = compute_profile(path)
        with self.db.write() as conn:
            conn.execute(
                dataset_versions.update()
                .where(
                    dataset_versions.c.name == version.name,
                    dataset_versions.c.version == version.version,
                )
                .values(profile=profile.model_dump_json())
            )
        return profile

    def validate(
        self,
        ref: str,
        rules: RulesArg | None = None,
        *,
        reference: str | None = None,
        examples: int = EXAMPLES,
    ) -> ValidationReport:
        """Check a stored version against `rules` (default: the dataset's own rule set);
        the report is stored and linked to the version."""
        version = self.get(ref)
        ruleset = load_rules(rules) if rules is not None else self.rules(version.name)
        if ruleset is None:
            raise Invalid(
                f"{version.name} has no rule set attached; pass rules (a YAML file "
                "such as rules.yaml)",
                field="rules",
            )
        ref_profile, ref_name = self._reference(ruleset, reference)
        with verified_file(self.artifacts, version.digest) as path:
            report = validate_parquet(
                path,
                ruleset,
                reference=ref_profile,
                reference_name=ref_name,
                examples=examples,
                dataset=version.ref,
            )
        with self.db.write() as conn:
            report_id = records.store_report(
                conn,
                version.name,
                version.version,
                ruleset,
                report,
                version.ref,
                now_ms(),
                current_actor(),
            )
        return report.model_copy(update={"report_id": report_id})

    def _reference(
        self, ruleset: RuleSet, override: str | None
    ) -> tuple[Profile | None, str | None]:
        name = override or ruleset.table.reference
        if name is None:
            return None, None
        ref = parse_dataset_ref(name)
        try:
            version = self.get(name)
        except NotFound:
            if ref.alias == LATEST and override is None:
                return None, name  # the first version has nothing to compare with yet
            raise
        return self.profile(version.ref), version.ref

    def diff(self, a: str, b: str) -> DatasetDiff:
        """Schema, row count and statistics changes from version `a` to version `b`."""
        va, vb = self.get(a), self.get(b)
        return diff_versions(va, self.profile(va.ref), vb, self.profile(vb.ref))

    def reports(self, ref: str) -> list[ValidationReport]:
        version = self.get(ref)
        t = validation_reports
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.c.report)
                .where(t.c.name == version.name, t.c.version == version.version)
                .order_by(t.c.created_at)
            ).all()
        return [ValidationReport.model_validate_json(r.report) for r in rows]

    def versions(self, name: str) -> list[DatasetVersion]:
        with self.db.read() as conn:
            lookups.require_dataset(conn, name)
            rows = conn.execute(
                select(*lookups.SUMMARY)
                .where(dataset_versions.c.name == name)
                .order_by(dataset_versions.c.version)
            ).all()
        return [lookups.version_of(r) for r in rows]

    def list_datasets(self) -> list[Dataset]:
        with self.db.read() as conn:
            return lookups.all_datasets(conn)

    def get_dataset(self, name: str) -> Dataset:
        check_dataset_name(name)
        found = [d for d in self.list_datasets() if d.name == name]
        if not found:
            raise lookups.unknown(name)
        return found[0]
