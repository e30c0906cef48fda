from django.core.management.base import BaseCommand

from funnel.health.digest import send_alert_digests


class Command(BaseCommand):
    help = "Send the daily alert digest to each manager now (the Celery beat schedule does this daily)."

    def handle(self, *args, **options):
        sent = send_alert_digests()
        self.stdout.write(f"{sent} digest(s) sent.")
