"""Managing by the funnel: quotas per person and period, their attainment and forecast."""
