from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivityLogConfig(AppConfig):
    """The 三E daily log (日清单): plans, activities, evening reports and their review."""

    name = "activity_log"
    verbose_name = _("Daily log")

    def ready(self) -> None:
        from funnel.hooks import (
            register_activity_counter,
            register_diagnosis,
            register_home_panel,
            register_picker_recent,
            register_timeline_source,
        )
        from funnel.models import AlertKind

        from .counts import activity_count
        from .handover.views import home_panel as handover_panel
        from .health import missing_log_findings
        from .picks import recent_picks
        from .timeline import home_panel, opportunity_activities

        register_timeline_source(opportunity_activities)
        register_home_panel(home_panel)
        register_home_panel(handover_panel)
        register_diagnosis(AlertKind.MISSING_LOG, missing_log_findings)
        register_picker_recent(recent_picks)
        register_activity_counter(activity_count)

        from funnel.hooks import register_rep_column

        from .scorecard.panels import dashboard_column
        from .scorecard.panels import home_panel as quality_panel

        register_home_panel(quality_panel)
        register_rep_column(dashboard_column)
