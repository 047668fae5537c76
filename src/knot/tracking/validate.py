"""Checks on user-supplied names and values, shared by the SDK, the store and the server,
so every door rejects the same input with the same message."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from operator import itemgetter

from knot.errors import Invalid
from knot.tracking.entities import Batch

__all__ = [
    "MAX_KEY",
    "MAX_PARAM_VALUE",
    "check_batch",
    "check_keys",
    "check_name",
    "check_run_id",
    "metric_value",
    "param_value",
    "step_value",
]

MAX_KEY = 250
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
_KEY = re.compile(r"^[\w\-./ :]+$")
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_INT64 = 2**63 - 1


#: keys that passed check_keys (a training loop logs the same few keys again and again);
#: emptied when it reaches _KNOWN_LIMIT, so memory stays small whatever is logged
_known: set[str] = set()
_KNOWN_LIMIT = 10_000


def check_keys(keys: Iterable[str], what: str) -> None:
    """Raise Invalid for the first key that is not a usable metric/param/tag name."""
    known = _known
    for key in keys:
        if type(key) is str and key in known:
            continue
        if not isinstance(key, str) or not key.strip():
            raise Invalid(f"{what} key {key!r} is empty; give it a name", field="key")
        if len(key) > MAX_KEY:
            raise Invalid(
                f"{what} key {key[:40]!r}... is {len(key)} characters; the limit is {MAX_KEY}",
                field="key",
            )
        if not _KEY.match(key) or key.startswith("/") or ".." in key.split("/"):
            raise Invalid(
                f"{what} key {key!r} has characters Knot does not allow; use letters, digits, "
                "spaces and _ - . / :",
                field="key",
            )
        if type(key) is str:
            if len(known) >= _KNOWN_LIMIT:
                known.clear()
            known.add(key)


def check_name(name: str, what: str, limit: int = 256) -> str:
    if not isinstance(name, str) or not name.strip():
        raise Invalid(f"{what} name {name!r} is empty; give it a name", field="name")
    if len(name) > limit:
        raise Invalid(f"{what} name is {len(name)} characters; the limit is {limit}", field="name")
    return name


def check_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise Invalid(
            f"run id {run_id!r} is malformed; run ids are 32 lowercase hex characters "
            "(see `knot runs list`)",
            field="run_id",
        )
    return run_id


def metric_value(key: str, value: object) -> float:
    """A metric value as float; NaN and infinities are allowed (a diverging loss is data)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            # numpy scalars and other number types
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise Invalid(
                f"metric {key!r} value {value!r} is not a number; log a float or int",
                field="value",
            ) from None
    return float(value)


def step_value(key: str, step: object) -> int:
    if isinstance(step, bool) or not isinstance(step, int) or abs(step) > _INT64:
        try:
            as_int = int(step)  # type: ignore[call-overload]
            if as_int == step and abs(as_int) <= _INT64:
                return as_int
        except (TypeError, ValueError, OverflowError):
            pass
        raise Invalid(
            f"metric {key!r} step {step!r} is not a 64-bit integer; pass step=int", field="step"
        )
    return step


def param_value(key: str, value: object, what: str = "param") -> str:
    text = value if isinstance(value, str) else str(value)
    limit = MAX_PARAM_VALUE if what == "param" else MAX_TAG_VALUE
    if len(text) > limit:
        raise Invalid(
            f"{what} {key!r} value is {len(text)} characters; the limit is {limit}. "
            "Log long text as an artifact instead",
            field="value",
        )
    return text


def _plain_points(points: list[tuple[str, str, float, int, int]]) -> bool:
    """Every value a float, every step and timestamp an int within 64 bits: proven a
    column at a time in C (a loop over 100k points in Python costs tens of ms)."""
    values, steps, stamps = (list(map(itemgetter(i), points)) for i in (2, 3, 4))
    kinds = set(map(type, values)), set(map(type, steps)) | set(map(type, stamps))
    if kinds != ({float}, {int}):
        return False
    return min(min(steps), min(stamps)) >= -_INT64 and max(max(steps), max(stamps)) <= _INT64


def is_nan(value: float) -> bool:
    return math.isnan(value)


def check_batch(batch: Batch) -> None:
    """Types and ranges the database would otherwise reject halfway through a batch."""
    if batch.metrics and not _plain_points(batch.metrics):
        for run_id, key, value, step, ts in batch.metrics:
            if type(value) is not float or type(step) is not int or type(ts) is not int:
                metric_value(key, value)
                step_value(key, step)
                step_value(key, ts)
                raise Invalid(
                    f"metric {key!r} of run {run_id} has a malformed point", field="metrics"
                )
        raise Invalid("a metric step or timestamp does not fit in 64 bits", field="step")
    for _, key, text in batch.params:
        param_value(key, text)
    for _, key, text in batch.tags:
        param_value(key, text, "tag")
    if (batch.writer_id is None) != (batch.seq is None):
        raise Invalid("a batch needs both writer_id and seq, or neither", field="seq")
    if batch.writer_id is not None and not _RUN_ID.fullmatch(batch.writer_id):
        raise Invalid(
            f"writer id {batch.writer_id!r} is malformed; it is 32 lowercase hex characters",
            field="writer_id",
        )
    if batch.seq is not None and (type(batch.seq) is not int or not 0 < batch.seq <= _INT64):
        raise Invalid(f"batch seq {batch.seq!r} must be a whole number from 1", field="seq")
