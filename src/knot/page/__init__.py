"""The one HTML report shell of Knot: every report (profile, drift, monitoring, lineage,
model card, run comparison, check, pipeline) is a `Page` of `Section`s, drawn with the
same head, style sheet and offline plotly.js; the web UI builds its pages the same way.

    page = Page("Data drift", kind="drift", subtitle="2 of 5 columns drifted")
    page.section("Columns").table(["column", "test"], [["age", "ks"]])
    page.section("Distributions", grid=True).figure(fig)
    page.to_html()            # the page as a string
    page.write_html("d.html")  # written whole, its folder created
"""

from knot.page.blocks import Bullets, Figure, Html, Section, Table, Text, escape
from knot.page.shell import GENERATOR, INLINE, Page, plotly_js, write_text

__all__ = [
    "GENERATOR",
    "INLINE",
    "Bullets",
    "Figure",
    "Html",
    "Page",
    "Section",
    "Table",
    "Text",
    "escape",
    "plotly_js",
    "write_text",
]
