from django.core.management.base import BaseCommand

from activity_log.reminders import send_morning_reminders


class Command(BaseCommand):
    help = "Sends the morning e-mails whose hour has come (what the beat job does every 10 minutes)."

    def handle(self, *args, **options):
        self.stdout.write(f"{send_morning_reminders()} morning e-mail(s) sent.")
