"""What a page holds: sections of text, tables, lists and Plotly figures.

Text is escaped here, once, so a renderer passes plain strings (names, values, error
messages) and never writes markup; `Html` marks the few pieces a renderer did build
itself (and escaped) so they go on the page as they are.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

__all__ = ["Block", "Bullets", "Figure", "Html", "Section", "Table", "Text", "escape"]


class Html(str):
    """Markup that goes on the page unescaped: build it only from `escape`d parts."""

    __slots__ = ()


def escape(value: object) -> str:
    """`value` as page text: Html as it is, None as nothing, anything else escaped."""
    if value is None:
        return ""
    if isinstance(value, Html):
        return str(value)
    return html.escape(str(value))


class Block(Protocol):
    """One piece of a section; `figures` counts the Plotly charts it draws, so the page
    loads plotly.js only when something needs it."""

    @property
    def figures(self) -> int: ...

    def render(self) -> str: ...


@dataclass(frozen=True)
class Text:
    text: str
    style: str = ""  # a class of the shell's style sheet: "note", "summary", "warning"
    figures: ClassVar[int] = 0

    def render(self) -> str:
        css = f' class="{html.escape(self.style)}"' if self.style else ""
        return f"<p{css}>{escape(self.text)}</p>"


@dataclass(frozen=True)
class Table:
    """Rows of cells under column headings; `flagged` rows are highlighted (a drifted
    column, a parameter that differs), `numbers` aligns every column but the first
    to the right."""

    columns: Sequence[str]
    rows: Sequence[Sequence[object]]
    flagged: Sequence[bool] = ()
    numbers: bool = False
    figures: ClassVar[int] = 0

    def render(self) -> str:
        head = "".join(f"<th>{escape(c)}</th>" for c in self.columns)
        flags = list(self.flagged) + [False] * (len(self.rows) - len(self.flagged))
        body = "".join(
            ('<tr class="flag">' if flag else "<tr>")
            + "".join(f"<td>{escape(v)}</td>" for v in row)
            + "</tr>"
            for row, flag in zip(self.rows, flags, strict=False)
        )
        css = ' class="numbers"' if self.numbers else ""
        return f"<table{css}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


@dataclass(frozen=True)
class Bullets:
    """A list; an item given as (text, sub-items) carries a nested list."""

    items: Sequence[str | tuple[str, Sequence[str]]]
    figures: ClassVar[int] = 0

    def render(self) -> str:
        parts = []
        for item in self.items:
            if isinstance(item, tuple):
                text, children = item
                nested = "".join(f"<li>{escape(c)}</li>" for c in children)
                parts.append(f"<li>{escape(text)}<ul>{nested}</ul></li>")
            else:
                parts.append(f"<li>{escape(item)}</li>")
        return f"<ul>{''.join(parts)}</ul>"


@dataclass(frozen=True)
class Figure:
    """A Plotly figure, drawn by the plotly.js the page loads once in its head."""

    figure: Any  # plotly.graph_objects.Figure; not imported here, so pages stay cheap
    figures: ClassVar[int] = 1

    def render(self) -> str:
        chart = self.figure.to_html(full_html=False, include_plotlyjs=False)
        return f'<div class="figure">{chart}</div>'


@dataclass
class Section:
    """A heading (or none) and its blocks, in order; `grid` sets figures side by side."""

    heading: str | None = None
    grid: bool = False
    blocks: list[Block] = field(default_factory=list)

    def text(self, text: str, *, style: str = "") -> Section:
        self.blocks.append(Text(text, style))
        return self

    def table(
        self,
        columns: Sequence[str],
        rows: Iterable[Sequence[object]],
        *,
        flagged: Sequence[bool] = (),
        numbers: bool = False,
    ) -> Section:
        self.blocks.append(Table(list(columns), list(rows), list(flagged), numbers))
        return self

    def bullets(self, items: Iterable[str | tuple[str, Sequence[str]]]) -> Section:
        self.blocks.append(Bullets(list(items)))
        return self

    def figure(self, figure: Any) -> Section:
        self.blocks.append(Figure(figure))
        return self

    def html(self, markup: Html) -> Section:
        """Markup built by the caller (a form in the web UI, say), put as it is."""
        self.blocks.append(_Raw(markup))
        return self

    @property
    def figures(self) -> int:
        return sum(b.figures for b in self.blocks)

    def render(self) -> str:
        heading = f"<h2>{escape(self.heading)}</h2>" if self.heading else ""
        inner = "".join(b.render() for b in self.blocks)
        if self.grid:
            inner = f'<div class="grid">{inner}</div>'
        return f"<section>{heading}{inner}</section>"


@dataclass(frozen=True)
class _Raw:
    markup: Html
    figures: ClassVar[int] = 0

    def render(self) -> str:
        return str(self.markup)
