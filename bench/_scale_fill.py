"""The scale bench's fill: a PostgreSQL store filled straight in SQL (generate_series),
so 1M runs and 50M metric points take minutes, not the hours the SDK would.

Ids are md5 of a number (run r is md5('run' || r)), values pseudo-random (abs(sin(...))),
so bench/scale.py can pick existing runs, versions and lineage chains without reading
them first. Runs fall in blocks of 4 into EXPERIMENTS experiments; params.model cycles
through 4 values, so a quarter of each experiment is "lgbm".
"""

from __future__ import annotations

import itertools
import time

__all__ = ["EXPERIMENTS", "KEYS", "MODELS", "fill"]

EXPERIMENTS, MODELS, KEYS = 10, 100, ("auc", "loss", "accuracy", "f1", "latency")


def timed(step: str, sql: str, conn: object) -> None:
    """Run one fill step in its own transaction, and print how long it took."""
    start = time.perf_counter()
    conn.execute(sql)  # type: ignore[attr-defined]
    conn.commit()  # type: ignore[attr-defined]
    print(f"  {step}: {time.perf_counter() - start:.1f} s", flush=True)


def fill(uri: str, runs: int, points: int, versions: int) -> float:
    """Fill the (migrated, empty) store at `uri`; the seconds it took."""
    import psycopg

    began = time.perf_counter()
    per_model = max(1, versions // MODELS)
    steps = max(1, points // len(KEYS))
    keys = "ARRAY[" + ", ".join(f"'{k}'" for k in KEYS) + "]"
    run_id = "md5('run' || r)"
    with psycopg.connect(uri.replace("postgresql+psycopg", "postgresql")) as conn:
        print(
            f"filling {runs:,} runs, {runs * steps * len(KEYS):,} metric points, "
            f"{MODELS * per_model:,} versions",
            flush=True,
        )
        timed(
            "experiments",
            f"""
            INSERT INTO experiments (experiment_id, name, description, created_at)
            SELECT md5('exp' || e), 'bench-' || e, NULL, 0 FROM generate_series(1, {EXPERIMENTS}) e
            ON CONFLICT DO NOTHING""",
            conn,
        )
        timed(
            "runs",
            f"""
            INSERT INTO runs (run_id, experiment_id, name, status, start_time, end_time, "user")
            SELECT {run_id}, md5('exp' || (1 + (r / 4) % {EXPERIMENTS})), 'run-' || r, 'FINISHED',
                   1700000000000 + r * 1000, 1700000000000 + r * 1000 + 500, 'user-' || (r % 50)
            FROM generate_series(1, {runs}) r""",
            conn,
        )
        timed(
            "params",
            f"""
            INSERT INTO params (run_id, key, value)
            SELECT {run_id}, 'model', (ARRAY['lgbm', 'xgb', 'logreg', 'rf'])[1 + r % 4]
            FROM generate_series(1, {runs}) r
            UNION ALL
            SELECT {run_id}, 'lr', (0.001 * (1 + r % 100))::text FROM generate_series(1, {runs}) r
            """,
            conn,
        )
        timed(
            "tags",
            f"""
            INSERT INTO tags (run_id, key, value)
            SELECT {run_id}, 'team', 'team-' || (r % 20) FROM generate_series(1, {runs}) r""",
            conn,
        )
        timed(
            "metric points",
            f"""
            INSERT INTO metrics (run_id, key, step, timestamp, value)
            SELECT {run_id}, ({keys})[k], s, 1700000000000 + r * 1000 + s,
                   abs(sin(r * 7 + k * 13 + s)) FROM generate_series(1, {runs}) r,
                   generate_series(1, {len(KEYS)}) k, generate_series(0, {steps - 1}) s""",
            conn,
        )
        timed(
            "metric summaries",
            f"""
            INSERT INTO metric_summaries
                (run_id, key, latest, latest_step, latest_timestamp, min, max, count)
            SELECT {run_id}, ({keys})[k], abs(sin(r * 7 + k * 13 + {steps - 1})), {steps - 1},
                   1700000000000 + r * 1000 + {steps - 1}, 0, 1, {steps}
            FROM generate_series(1, {runs}) r, generate_series(1, {len(KEYS)}) k""",
            conn,
        )
        timed(
            "models and versions",
            f"""
            INSERT INTO registered_models (name, description, created_at, created_by, updated_at)
            SELECT 'model-' || m, NULL, 0, 'bench', 0 FROM generate_series(1, {MODELS}) m;
            INSERT INTO model_versions (name, version, run_id, artifact_path, artifact_digest,
                flavor, signature, environment, datasets, status, created_at, created_by)
            SELECT 'model-' || m, v, md5('run' || (1 + (m * {per_model} + v) % {runs})), 'model',
                   'sha256:' || repeat('0', 64), 'sklearn', NULL, '{{}}', '[]', 'READY', 0, 'bench'
            FROM generate_series(1, {MODELS}) m, generate_series(1, {per_model}) v""",
            conn,
        )
        chain = [
            ("dataset", "'data-' || m || '@' || v"),
            ("run", "md5('run' || (1 + (m * {p} + v) % {r}))"),
            ("model_version", "'model-' || m || '/' || v"),
            (
                "modelkit",
                "'sha256:' || md5('kit' || m || '-' || v) || md5('kit2' || m || '-' || v)",
            ),
            ("oci_reference", "'registry.example.com/kits/model-' || m || ':' || v"),
            (
                "batch_output",
                "'sha256:' || md5('out' || m || '-' || v) || md5('out2' || m || '-' || v)",
            ),
        ]
        selects = [
            f"SELECT '{a}', {ai.format(p=per_model, r=runs)}, 'next', '{b}', "
            f"{bi.format(p=per_model, r=runs)}, 0 "
            f"FROM generate_series(1, {MODELS}) m, generate_series(1, {per_model}) v"
            for (a, ai), (b, bi) in itertools.pairwise(chain)
        ]
        timed(
            "lineage edges",
            "INSERT INTO lineage_edges (from_kind, from_id, relation, "
            "to_kind, to_id, created_at) " + " UNION ALL ".join(selects),
            conn,
        )
        timed("analyze", "ANALYZE", conn)
    return time.perf_counter() - began
