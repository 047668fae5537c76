"""Model cards: what Knot recorded about a model version, as Markdown or an HTML page."""
