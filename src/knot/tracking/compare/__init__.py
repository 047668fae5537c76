"""Runs side by side: the same params and metrics, one column per run, as a table or a page."""
