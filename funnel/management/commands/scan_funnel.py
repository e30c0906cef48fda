"""Runs the funnel-health scan once, synchronously, and prints what it found: the same code as beat's job."""

from django.core.management.base import BaseCommand

from funnel.alert_services import scan_funnel


class Command(BaseCommand):
    help = "Runs the funnel-health scan once and prints new, re-seen and resolved alerts per kind."

    def handle(self, *args, **options) -> None:
        summary = scan_funnel()
        width = max(len(kind) for kind in summary)
        self.stdout.write(f"{'kind':<{width}}  {'new':>6}  {'seen':>6}  {'resolved':>8}")
        for kind, (new, seen, resolved) in summary.items():
            self.stdout.write(f"{kind:<{width}}  {new:>6}  {seen:>6}  {resolved:>8}")
