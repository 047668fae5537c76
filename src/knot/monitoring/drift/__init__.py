"""Data and prediction drift: statistics, per-column comparisons, references, reports."""
