"""What a model card says, as a list of sections: built by knot.registry.cards.card from
what Knot recorded, and rendered by it (Markdown) and by knot.registry.cards.card_html."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Card", "Section"]


@dataclass(frozen=True)
class Section:
    title: str
    text: str = ""
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Card:
    title: str
    summary: str
    sections: list[Section] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)  # latest values, for the chart
