"""Funnel health: the diagnoses, the scan that turns their findings into alerts, the alerts inbox, the daily
digest and the navigation badge."""
