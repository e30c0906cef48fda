from django.apps import AppConfig


class ActivityLogConfig(AppConfig):
    """The 三E daily log (日清单): plans, activities, evening reports and their review."""

    name = "activity_log"
    verbose_name = "Daily log"
