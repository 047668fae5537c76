"""`knot.feedback`: the true value for a prediction, sent any time after it was made."""

from __future__ import annotations

from typing import Any

__all__ = ["feedback"]


def feedback(model: str, request_id: str, label: Any, *, row: int = 0) -> None:
    """Record `label` as the truth for row `row` of request `request_id` answered by
    `model`; a later label for the same row replaces it. Durable when it returns."""
    from knot.serving.labels import append_labels

    append_labels(model, [{"request_id": request_id, "row": row, "label": label}])
