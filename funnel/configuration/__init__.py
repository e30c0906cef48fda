"""The admin's funnel settings: pipelines, stages, sources, lost reasons and the funnel-health thresholds."""
