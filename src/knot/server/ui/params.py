"""Query parameters as pages read them: every one arrives as text and is checked here,
so a hostile value is a page naming it (422), never FastAPI's JSON error or a 500."""

from __future__ import annotations

from knot.errors import Invalid

__all__ = ["bounded_int", "one_of"]


def bounded_int(name: str, text: str | None, default: int, low: int, high: int) -> int:
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise Invalid(
            f"{name} {text[:40]!r} is not a whole number from {low} to {high}; fix the {name} "
            "parameter of the address",
            field=name,
        )
    return value


def one_of(name: str, text: str | None, choices: tuple[str, ...]) -> str:
    if text is None or text == "":
        return choices[0]
    if text not in choices:
        raise Invalid(
            f"{name} {text[:40]!r} is not one of {', '.join(choices)}; fix the {name} "
            "parameter of the address",
            field=name,
        )
    return text
