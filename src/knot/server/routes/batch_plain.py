"""The usual batch body's metrics without a validator call per value.

A batch from the SDK carries its metric columns as lists of plain JSON floats and
integers. Pydantic runs a Python validator on each of the tens of thousands of values
(a number and not a boolean, NaN spelt as a string, whole and within 64 bits); here a
few C-level passes over each column (`set(map(type, ...))`, `min`, `max`) prove the
same of the whole column at once. Anything else (integers among the values, "NaN", a
missing or extra column, columns of different lengths, a step out of range, malformed
JSON) gives None, and the full parser answers that body with its exact error, so both
paths accept the same bodies and make the same rows of them.
"""

from __future__ import annotations

import orjson

__all__ = ["plain_metrics"]

_COLUMNS = ("run_id", "key", "value", "step", "timestamp")
_LOW, _HIGH = -(2**63), 2**63  # Int64: low <= n < high
Point = tuple[str, str, float, int, int]


def plain_metrics(body: bytes) -> tuple[bytes, list[Point]] | None:
    """(the body without its metrics, the metric rows) when the metrics are plain."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(data) is not dict:
        return None
    m = data.get("metrics")
    if type(m) is not dict or m.keys() != set(_COLUMNS):
        return None
    run_id, key, value, step, ts = (m[c] for c in _COLUMNS)
    if not (type(key) is list and type(value) is list and type(step) is list):
        return None
    n = len(key)
    if type(ts) is not list or n == 0 or not len(value) == len(step) == len(ts) == n:
        return None
    if type(run_id) is str:
        run_ids: list[str] = [run_id] * n
    elif type(run_id) is list and len(run_id) == n and _all(run_id, str):
        run_ids = run_id
    else:
        return None
    if not (_all(key, str) and _all(value, float) and _all(step, int) and _all(ts, int)):
        return None
    if min(min(step), min(ts)) < _LOW or max(max(step), max(ts)) >= _HIGH:
        return None
    del data["metrics"]
    return orjson.dumps(data), list(zip(run_ids, key, value, step, ts, strict=True))


def _all(column: list[object], kind: type) -> bool:
    # exact types: a boolean is no int here, and an int no float
    return set(map(type, column)) == {kind}
