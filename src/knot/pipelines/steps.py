"""Steps: plain Python functions marked `@knot.step`, the units a pipeline caches and runs.

    @knot.step(retries=2)
    def clean(frame: pd.DataFrame, min_age: int = 18) -> pd.DataFrame: ...

Called outside a pipeline, a step is the plain function. Called while a pipeline body
is being traced, it records a node and returns a Handle (see knot.pipelines.graph).

A step's code digest is part of its cache key: the sha256 of its qualified name and
its source, parsed and unparsed without decorators, comments or docstring, so
reformatting or editing a comment keeps the cache while any change to what the code
does (or to its defaults) invalidates it. Functions a step calls are not part of the
digest: change the step itself (or a parameter) to invalidate after editing a helper.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib
import inspect
import marshal
import textwrap
from collections.abc import Callable
from typing import Any, overload

from knot.errors import Invalid
from knot.pipelines.graph import current_trace, reject_handles

__all__ = ["Step", "code_digest", "step"]


class Step:
    """A function marked as a pipeline step, with its caching and retry policy."""

    def __init__(
        self, fn: Callable[..., Any], *, cache: bool, retries: int, retry_delay: float
    ) -> None:
        if not callable(fn) or not hasattr(fn, "__code__"):
            raise Invalid(
                f"@knot.step needs a plain Python function, got {type(fn).__name__}; "
                "decorate a `def`",
                field="fn",
            )
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise Invalid(f"retries must be a whole number >= 0, got {retries!r}", field="retries")
        if not isinstance(retry_delay, int | float) or retry_delay < 0:
            raise Invalid(
                f"retry_delay must be seconds >= 0, got {retry_delay!r}", field="retry_delay"
            )
        self.fn = fn
        self.cache = bool(cache)
        self.retries = retries
        self.retry_delay = float(retry_delay)
        self.name: str = fn.__name__
        self.module: str = fn.__module__
        self.qualname: str = fn.__qualname__
        self.signature = inspect.signature(fn)
        self._digest: str | None = None
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"<knot.step {self.module}.{self.qualname}>"

    @property
    def code_digest(self) -> str:
        if self._digest is None:
            self._digest = code_digest(self.fn)
        return self._digest

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        trace = current_trace()
        if trace is not None:
            return trace.add(self, args, kwargs)
        reject_handles(f"step {self.name!r} called outside a pipeline", args, kwargs)
        return self.fn(*args, **kwargs)

    def __reduce__(self) -> tuple[Callable[[str, str], Step], tuple[str, str]]:
        # By reference: a worker process imports the module and finds this same step.
        return _import_step, (self.module, self.qualname)


def _import_step(module: str, qualname: str) -> Step:
    target: Any = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    if not isinstance(target, Step):
        raise Invalid(
            f"{module}.{qualname} is not a @knot.step in this process; define steps at "
            "module level so worker processes can import them",
            field="step",
        )
    return target


@overload
def step(fn: Callable[..., Any], /) -> Step: ...


@overload
def step(
    *, cache: bool = True, retries: int = 0, retry_delay: float = 0.0
) -> Callable[[Callable[..., Any]], Step]: ...


def step(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    cache: bool = True,
    retries: int = 0,
    retry_delay: float = 0.0,
) -> Step | Callable[[Callable[..., Any]], Step]:
    """Mark a function as a pipeline step: `@knot.step` or `@knot.step(retries=2)`.

    Args:
        cache: reuse the stored output when code, parameters and inputs are unchanged.
        retries: how many times to run the step again after it raises.
        retry_delay: seconds to wait before each retry.
    """

    def mark(function: Callable[..., Any]) -> Step:
        return Step(function, cache=cache, retries=retries, retry_delay=retry_delay)

    return mark(fn) if fn is not None else mark


def code_digest(fn: Callable[..., Any]) -> str:
    """sha256 of the function's qualified name and normalised source (see module doc)."""
    name = f"{fn.__module__}.{fn.__qualname__}"
    try:
        body = _normalised_source(fn)
    except (OSError, TypeError, SyntaxError):
        # No source (a REPL, a frozen app): the compiled code still identifies it.
        code = fn.__code__
        body = marshal.dumps(code.co_code).hex() + repr(code.co_consts)
    return hashlib.sha256(f"{name}\n{body}".encode()).hexdigest()


def _normalised_source(fn: Callable[..., Any]) -> str:
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    node = tree.body[0]
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        node.decorator_list = []
        first = node.body[0] if node.body else None
        if (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
            and len(node.body) > 1
        ):
            node.body = node.body[1:]
    return ast.unparse(tree)
