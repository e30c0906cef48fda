"""Writes the bell's scheduled notifications (next steps due today, new alerts on one's deals): the same code as
beat's job. Once by default; with `--every SECONDS` on a schedule in this process, for the demo without Redis
(`make run` starts it beside the web server)."""

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from funnel.management.commands._every import run_every

from ...notifications import send_notifications


class Command(BaseCommand):
    help = "Writes the notifications of next steps due today and of new alerts (what the beat job does every 15 min)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=int, metavar="SECONDS", help="Run again every SECONDS until stopped.")
        parser.add_argument("--times", type=int, metavar="N", help="With --every: stop after N runs.")

    def handle(self, *args, every: int | None = None, times: int | None = None, **options) -> None:
        if every is None:
            self.stdout.write(self.line())
            return
        run_every(every, times, self.line, out=self.stdout, err=self.stderr, name="notifications",
                  stopped="Notifications stopped.")  # fmt: skip

    def line(self) -> str:
        counts = send_notifications()
        written = " · ".join(f"{kind} {count}" for kind, count in counts.items())
        return f"{timezone.now():%Y-%m-%d %H:%M:%S} notifications written: {written}"
