"""Batch scoring at scale: many Parquet files split into parts (file x row group),
scored in this process or across a Ray cluster, resumable, with a manifest and lineage."""

from __future__ import annotations

from knot.serving.parts.job import BatchResult, score_parts

__all__ = ["BatchResult", "score_parts"]
