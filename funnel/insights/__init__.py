"""Figures: the aggregates (metrics), the dashboard's rollup and figures, its page and CSV tables, and targets."""
