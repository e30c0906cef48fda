"""The admin's list of activity kinds (visit, call, meeting…)."""
