"""Recomputes the team and organisation dashboards' summaries now (the job does it every few minutes)."""

import time

from django.core.management.base import BaseCommand

from funnel.dashboard_figures import refresh_summaries


class Command(BaseCommand):
    help = "Refresh the dashboard summaries of managers, admins and recently read scopes; prints what it did."

    def handle(self, *args, **options):
        started = time.perf_counter()
        counts = refresh_summaries()
        self.stdout.write(
            f"{counts['refreshed']} dashboard summaries refreshed, {counts['deleted']} unread ones deleted "
            f"in {time.perf_counter() - started:.1f} s"
        )
