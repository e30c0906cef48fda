"""Handover (交接) of a departing or moving person's book to other reps."""
