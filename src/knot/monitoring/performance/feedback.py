"""`knot.feedback`: the true value for a prediction, sent any time after it was made."""

from __future__ import annotations

from typing import Any

__all__ = ["feedback"]


def feedback(model: str, request_id: str, label: Any, *, row: int = 0) -> None:
    """Record `label` as the truth for row `row` of request `request_id` answered by
    `model`; a later label for the same row replaces it. Durable when it returns.

    Checked first against the prediction log (KNOT_HOME/predictions, or the shared log
    store: knot.serving.logs.shared): Invalid, naming the
    field, for a request id the model did not answer, a row the request did not have, or
    a label of another kind than the predictions (a string for a regressor, a number
    for a classifier whose classes are strings); nothing is stored then."""
    from knot.refs import check_model_name
    from knot.serving.logs.label_checks import SIBLING_WAIT_S, check_labels, find_answered
    from knot.serving.logs.labels import parse_labels, write_labels
    from knot.serving.logs.mirror import label_scan, local_root, shared_store

    labels = parse_labels([{"request_id": request_id, "row": row, "label": label}])
    store, root = shared_store(), local_root()
    scan = label_scan(check_model_name(model), store, root)
    # a service writes its log every second: a label sent right after the answer waits
    answered = find_answered([request_id], None, scan, wait_s=SIBLING_WAIT_S)
    check_labels(model, labels, answered)
    write_labels(model, labels, root, store)
