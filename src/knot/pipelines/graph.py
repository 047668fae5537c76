"""Tracing a pipeline body into a DAG: step calls become nodes, handles become edges.

While a body runs under a Trace, every step call records a Node and returns a Handle,
a placeholder for the output the step will produce. An argument that is a handle (also
inside a list, tuple or dict) is an edge from the step that makes it; any other
argument is a parameter. A handle can only name a node recorded before it, so the
graph is acyclic by construction and the recording order is a topological order.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from knot.errors import Invalid

if TYPE_CHECKING:
    from knot.pipelines.steps import Step

__all__ = [
    "Handle",
    "Node",
    "Trace",
    "current_trace",
    "map_handles",
    "map_nested",
    "reject_handles",
    "tracing",
]

T = TypeVar("T")
_TRACE: contextvars.ContextVar[Trace | None] = contextvars.ContextVar("knot_trace", default=None)


class Handle:
    """The future output of one step in a pipeline being traced.

    Pass it to other steps; anything else (reading it, testing it, formatting it)
    raises, because the value does not exist until the pipeline runs.
    """

    __slots__ = ("node",)

    def __init__(self, node: Node) -> None:
        object.__setattr__(self, "node", node)

    def __repr__(self) -> str:
        return f"<output of step {self.node.key!r}>"

    def _refuse(self, what: str) -> NoReturn:
        raise Invalid(
            f"{what} the output of step {self.node.key!r} while the pipeline is being "
            "traced: it has no value yet. Pass it to a @knot.step and do the work there "
            "(a plain function or Python code in the pipeline body cannot use it)",
            field="handle",
        )

    def __getattr__(self, name: str) -> NoReturn:
        self._refuse(f"cannot read attribute {name!r} of")

    def __setattr__(self, name: str, value: object) -> NoReturn:
        self._refuse(f"cannot set attribute {name!r} of")

    def __bool__(self) -> NoReturn:
        self._refuse("cannot test the truth of")

    def __iter__(self) -> NoReturn:
        self._refuse("cannot iterate over or unpack")

    def __len__(self) -> NoReturn:
        self._refuse("cannot take the length of")

    def __getitem__(self, key: object) -> NoReturn:
        self._refuse(f"cannot index ([{key!r}])")

    def __str__(self) -> NoReturn:
        self._refuse("cannot format")

    def __format__(self, spec: str) -> NoReturn:
        self._refuse("cannot format")

    def __float__(self) -> NoReturn:
        self._refuse("cannot convert")

    def __int__(self) -> NoReturn:
        self._refuse("cannot convert")

    def __index__(self) -> NoReturn:
        self._refuse("cannot convert")

    def __reduce__(self) -> NoReturn:
        self._refuse("cannot pickle")

    def __hash__(self) -> NoReturn:
        self._refuse("cannot hash (put in a set or use as a dict key)")

    def __eq__(self, other: object) -> NoReturn:
        self._refuse("cannot compare")

    def __ne__(self, other: object) -> NoReturn:
        self._refuse("cannot compare")

    def _arith(self, *_: object) -> NoReturn:
        self._refuse("cannot compute with")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _arith
    __truediv__ = __rtruediv__ = __floordiv__ = __mod__ = __pow__ = _arith
    __lt__ = __le__ = __gt__ = __ge__ = __neg__ = __abs__ = _arith


@dataclass(eq=False)
class Node:
    """One step call in a pipeline: its position, arguments and the nodes it reads."""

    key: str  # unique in the pipeline: the step name, then name-2, name-3 ...
    position: int
    step: Step
    args: tuple[Any, ...]  # handles in place, resolved by the runner
    kwargs: dict[str, Any]
    upstream: list[Node] = field(default_factory=list)


class Trace:
    """The nodes recorded while one pipeline body runs."""

    def __init__(self, pipeline: str) -> None:
        self.pipeline = pipeline
        self.nodes: list[Node] = []
        self._ids: set[int] = set()
        self._counts: dict[str, int] = {}

    def add(self, step: Step, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Handle:
        try:
            step.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise Invalid(
                f"step {step.name!r} in pipeline {self.pipeline!r} was called with "
                f"arguments its signature {step.signature} does not take: {exc}",
                field="args",
            ) from None
        upstream: dict[int, Node] = {}

        def collect(handle: Handle) -> Handle:
            if id(handle.node) not in self._ids:
                raise Invalid(
                    f"step {step.name!r} got the output of step {handle.node.key!r} from "
                    f"another pipeline; a pipeline can only use handles it made itself",
                    field="args",
                )
            upstream[id(handle.node)] = handle.node
            return handle

        map_handles((args, kwargs), collect)
        count = self._counts.get(step.name, 0) + 1
        self._counts[step.name] = count
        key = step.name if count == 1 else f"{step.name}-{count}"
        node = Node(key, len(self.nodes), step, args, dict(kwargs), list(upstream.values()))
        self.nodes.append(node)
        self._ids.add(id(node))
        return Handle(node)


def current_trace() -> Trace | None:
    return _TRACE.get()


@contextmanager
def tracing(pipeline: str) -> Iterator[Trace]:
    trace = Trace(pipeline)
    token = _TRACE.set(trace)
    try:
        yield trace
    finally:
        _TRACE.reset(token)


def map_handles(value: Any, fn: Callable[[Handle], Any]) -> Any:
    """`value` with every Handle inside lists, tuples and dicts replaced by fn(handle)."""
    return map_nested(value, Handle, fn)


def map_nested(value: Any, kind: type[T], fn: Callable[[T], Any]) -> Any:
    """`value` with every `kind` inside lists, tuples and plain dicts replaced by fn(it)."""
    if isinstance(value, kind):
        return fn(value)
    if isinstance(value, list):
        return [map_nested(v, kind, fn) for v in value]
    if isinstance(value, tuple):
        mapped = [map_nested(v, kind, fn) for v in value]
        return type(value)(*mapped) if hasattr(value, "_fields") else tuple(mapped)
    if type(value) is dict:
        return {k: map_nested(v, kind, fn) for k, v in value.items()}
    return value


def reject_handles(where: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Raise if a handle is passed somewhere that cannot resolve it."""

    def refuse(handle: Handle) -> NoReturn:
        raise Invalid(
            f"{where} got the output of step {handle.node.key!r}, which only has a value "
            "inside the pipeline run; call steps from within a @knot.pipeline body",
            field="args",
        )

    map_handles((args, dict(kwargs)), refuse)
