"""The manager's review of the daily logs: one day of the team, comments, "reviewed", weekly compliance."""
