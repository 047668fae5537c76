"""Pack a registered model version as a ModelKit: its model folder, the datasets its
run used and its model card, with Knot's provenance (run, metrics, signature, lineage,
dataset digests) in the Kitfile's model.parameters and in manifest annotations."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from knot.governance.lineage import Edge
from knot.packaging.kitfile import DataSet, Docs, Kitfile, KitPackage, Model
from knot.packaging.pack import PackedKit, pack_kitfile
from knot.packaging.provenance import record_kit
from knot.paths import check_relative_path, join_inside

__all__ = ["pack_model_version"]


def _provenance(
    version: Any, metrics: dict[str, float], datasets: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "knot": {
            "model_uri": version.uri,
            "run_id": version.run_id,
            "artifact_digest": version.artifact_digest,
            "flavor": version.flavor,
            "metrics": metrics,
            "signature": version.signature.model_dump(mode="json") if version.signature else None,
            "environment": version.environment.model_dump(mode="json"),
            "datasets": datasets,
            "lineage": [
                {"from": f"dataset:{d['ref']}", "to": f"run:{version.run_id}"} for d in datasets
            ],
        }
    }


def pack_model_version(
    uri: str, tag: str | None = None, *, include_datasets: bool = True, compression: str = "none"
) -> PackedKit:
    """Pack `models:/NAME/VERSION` (or @ALIAS) as ModelKit `tag` (default NAME:VERSION)."""
    from knot.registry.cards.card import model_card
    from knot.registry.fluent import get_model_version
    from knot.tracking.datasets import get_dataset
    from knot.tracking.fluent import get_run, session

    version = get_model_version(uri)
    run = get_run(version.run_id)
    metrics = {k: m.latest for k, m in sorted(run.metrics.items())}
    s = session()
    with tempfile.TemporaryDirectory(prefix="knot-pack-") as tmp:
        context = Path(tmp)
        s.artifacts.download_folder(version.artifact_digest, context / "model")
        datasets, entries = [], []
        for ref in version.datasets if include_datasets else []:
            found = get_dataset(ref)
            # the name comes from the database: checked again so a row written there
            # directly cannot write outside the temporary folder
            check_relative_path(found.name, f"dataset name of {ref}", field="datasets")
            path = f"datasets/{found.name}-v{found.version}.parquet"
            s.artifacts.download_file(found.digest, join_inside(context, path, "dataset path"))
            info = {"ref": ref, "digest": found.digest, "rows": found.rows}
            datasets.append(info)
            entries.append(DataSet(name=ref, path=path, parameters={"knot": info}))
        (context / "docs").mkdir()
        (context / "docs" / "MODEL_CARD.md").write_text(
            model_card(version.name, version.version), encoding="utf-8"
        )
        kitfile = Kitfile(
            manifestVersion="1.0",
            package=KitPackage(
                name=version.name, version=str(version.version), description=version.description
            ),
            model=Model(
                name=version.name,
                path="model",
                framework=version.flavor,
                version=str(version.version),
                description=version.description,
                parameters=_provenance(version, metrics, datasets),
            ),
            datasets=entries or None,
            docs=[Docs(path="docs/MODEL_CARD.md", description="model card")],
        )
        annotations = {
            "ml.knot.model": version.uri,
            "ml.knot.run-id": version.run_id,
            "ml.knot.artifact-digest": version.artifact_digest,
            "ml.knot.datasets": json.dumps([d["ref"] for d in datasets]),
            "ml.knot.metrics": json.dumps(metrics, sort_keys=True),
            "org.opencontainers.image.title": version.name,
            "org.opencontainers.image.version": str(version.version),
        }
        packed = pack_kitfile(
            context,
            kitfile,
            tag or f"{version.name}:{version.version}",
            compression=compression,
            annotations=annotations,
        )
    edge = Edge(
        "model_version", f"{version.name}/{version.version}", "packaged", "modelkit", packed.digest
    )
    record_kit(
        "modelkit.pack",
        packed.digest,
        {"reference": packed.reference, "model": version.uri},
        [edge],
    )
    return packed
