"""The one page every Knot report is drawn in: head, style sheet, plotly.js, title,
subtitle and sections.

Pages open without a network. By default the plotly.js bundle of the installed `plotly`
package is inlined once in the head (about 5 MB; only when the page has a figure), so
a written report is one file that can be mailed or archived and still draws in ten
years. A server showing many pages (the web UI) passes `plotly="/static/plotly.min.js"`
instead and serves `plotly_js()` at that path; a network address is refused, as it
would break the page offline.
"""

from __future__ import annotations

import html
import secrets
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from knot._version import __version__
from knot.errors import Invalid
from knot.page.blocks import Html, Section, escape

__all__ = ["GENERATOR", "INLINE", "Page", "plotly_js", "write_text"]

INLINE = "inline"
# every Knot page says so in its head: tests and tools tell a Knot page by it
GENERATOR = f"Knot {__version__} report page"

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;
max-width:80em;padding:0 1.5em;color:#222;line-height:1.4}
h1{margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}
.subtitle,.summary{color:#555}.note{color:#777;font-style:italic}
.warning{color:#9a6700}
table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:.92em}
th{background:#f4f4f4}
table.numbers td{text-align:right}table.numbers td:first-child{text-align:left}
tr.flag td{background:#fde2e1}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:1em}
code{background:#f4f4f4;padding:0 .2em}
footer{margin-top:3em;color:#999;font-size:.8em}
"""


@cache
def plotly_js() -> str:
    """The plotly.js bundle shipped inside the installed `plotly` package."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def _plotly_tag(plotly: str) -> str:
    if plotly == INLINE:
        return f'<script type="text/javascript">{plotly_js()}</script>'
    lowered = plotly.strip().lower()
    if not lowered or lowered.startswith(("http:", "https:", "//")) or ":" in lowered:
        raise Invalid(
            f"plotly.js source {plotly!r} is not a local path; a Knot page must draw "
            f"without a network: pass plotly='inline' or a path on the same server "
            f"such as '/static/plotly.min.js' (serve knot.page.plotly_js() there)",
            field="plotly",
        )
    return f'<script type="text/javascript" src="{html.escape(plotly)}"></script>'


@dataclass
class Page:
    """A report page: `kind` names the report ("drift", "profile", ...) on the page's
    body, so a style or a test can tell them apart; `sections` follow the title."""

    title: str
    kind: str
    subtitle: str = ""
    sections: list[Section] = field(default_factory=list)

    def section(self, heading: str | None = None, *, grid: bool = False) -> Section:
        """A new section at the end of the page, to fill."""
        added = Section(heading, grid)
        self.sections.append(added)
        return added

    @property
    def figures(self) -> int:
        return sum(s.figures for s in self.sections)

    def body(self) -> Html:
        """The page's content without head or body tags, for a page that frames it."""
        subtitle = f'<p class="subtitle">{escape(self.subtitle)}</p>' if self.subtitle else ""
        sections = "\n".join(s.render() for s in self.sections)
        return Html(f"<header><h1>{escape(self.title)}</h1>{subtitle}</header>\n{sections}")

    def to_html(self, *, plotly: str = INLINE) -> str:
        """The whole page; `plotly` is "inline" (the bundle inside the page) or a local
        path the page loads it from."""
        script = _plotly_tag(plotly) if self.figures else ""
        return (
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="generator" content="{html.escape(GENERATOR)}">'
            f"<title>{escape(self.title)}</title><style>{STYLE}</style>{script}</head>\n"
            f'<body data-report="{html.escape(self.kind)}">\n{self.body()}\n'
            f"<footer>{html.escape(GENERATOR)}</footer>\n</body></html>\n"
        )

    def write_html(self, path: str | Path, *, plotly: str = INLINE) -> Path:
        """Write the page to `path` (its folder is created) and return the path."""
        return write_text(path, self.to_html(plotly=plotly))


def write_text(path: str | Path, text: str) -> Path:
    """Write `text` to `path` whole or not at all: a reader (a browser reloading, the
    web UI serving it) sees the old page or the new one, never half of one."""
    out = Path(path)
    if out.is_dir():
        # said before a temporary file exists, naming the path the user gave
        raise IsADirectoryError(21, "Is a directory", str(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.with_name(f".{out.name}.{secrets.token_hex(4)}.tmp")
    try:
        # "x": a new file with the user's umask, never someone else's file
        with temp.open("x", encoding="utf-8") as f:
            f.write(text)
        temp.replace(out)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return out
