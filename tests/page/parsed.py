"""A Knot page read back with the standard library's html.parser, strictly: every
element that is opened is closed, in order, so a page with a stray or unescaped tag
fails here although a browser would shrug it off."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

__all__ = ["ParsedPage", "parse"]

# elements HTML never closes
_VOID = {"meta", "link", "br", "img", "input", "hr", "area", "base", "col", "source", "wbr"}


@dataclass
class ParsedPage:
    tags: list[str] = field(default_factory=list)  # every opened element, in order
    meta: dict[str, str] = field(default_factory=dict)  # name -> content
    body: dict[str, str] = field(default_factory=dict)  # the body's attributes
    title: str = ""
    h1: list[str] = field(default_factory=list)
    h2: list[str] = field(default_factory=list)
    script_srcs: list[str] = field(default_factory=list)
    inline_scripts: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # tags that do not nest


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = ParsedPage()
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.page.tags.append(tag)
        if tag == "meta" and "name" in values:
            self.page.meta[values["name"]] = values.get("content", "")
        if tag == "body":
            self.page.body = values
        if tag == "script" and "src" in values:
            self.page.script_srcs.append(values["src"])
        if tag not in _VOID:
            self.open.append(tag)
            self.text = []

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.page.errors.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
            return
        self.open.pop()
        text = "".join(self.text)
        if tag == "title":
            self.page.title = text
        elif tag in ("h1", "h2"):
            getattr(self.page, tag).append(text)
        elif tag == "script" and text.strip():
            self.page.inline_scripts.append(text)
        self.text = []

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> ParsedPage:
    reader = _Reader()
    reader.feed(page)
    reader.close()
    if reader.open:
        reader.page.errors.append(f"never closed: {reader.open}")
    return reader.page
