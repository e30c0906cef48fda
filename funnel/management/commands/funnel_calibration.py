"""Prints each open stage's configured probability beside the share of its closed deals that were won
(funnel.insights.calibration), over the whole organisation: the table an admin's calibration page shows."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from funnel.insights import calibration
from funnel.models import Pipeline, StageChange

HEADER = ("stage", "configured %", "historical %", "range", "deals", "won")


class Command(BaseCommand):
    help = (
        "Prints, per open stage of a pipeline, the configured probability, the share of the deals that entered "
        "the stage in the last N months (closed now) that were won, its 95% range and the deals behind it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--pipeline", metavar="NAME", help="The pipeline (default: the default pipeline).")
        parser.add_argument(
            "--months", type=int, default=calibration.DEFAULT_MONTHS, metavar="N", help="The window (default 12)."
        )
        parser.add_argument(
            "--minimum", type=int, default=calibration.MIN_DEALS, metavar="N",
            help="Closed deals a stage needs for a figure (default 20).",
        )  # fmt: skip

    def handle(self, *args, pipeline: str | None = None, months: int = 12, minimum: int = 20, **options) -> None:
        if not 1 <= months <= calibration.LONGEST_MONTHS:
            raise CommandError(f"--months must be from 1 to {calibration.LONGEST_MONTHS}.")
        if minimum < 1:
            raise CommandError("--minimum must be at least 1.")
        chosen = self.pipeline(pipeline)
        now = timezone.now()
        rows = calibration.calibrate(StageChange.objects.all(), chosen, now=now, months=months, minimum=minimum)
        since = calibration.months_before(now, months)
        self.stdout.write(f"{chosen.name}: deals that entered each stage since {since:%Y-%m-%d}, closed now")
        self.print_table([self.cells(row) for row in rows])
        disagreeing = [row.stage.name for row in rows if row.disagrees]
        if disagreeing:
            self.stdout.write("Configured probability outside the historical range: " + ", ".join(disagreeing))

    def pipeline(self, name: str | None) -> Pipeline:
        pipelines = Pipeline.objects.all()
        found = pipelines.filter(name=name).first() if name else pipelines.filter(is_default=True).first()
        if found is None:
            known = ", ".join(pipelines.values_list("name", flat=True)) or "none"
            raise CommandError(f"No pipeline {name!r}. Pipelines: {known}." if name else "No default pipeline.")
        return found

    def cells(self, row: calibration.StageRow) -> tuple[str, ...]:
        share = row.total
        name = f"{row.stage.name} (archived)" if row.stage.is_archived else row.stage.name
        if share.range is None:
            return (name, str(row.configured), "not enough history", "", str(share.deals), str(share.won))
        low, high = share.range
        return (name, str(row.configured), str(share.percent), f"{low}-{high}", str(share.deals), str(share.won))

    def print_table(self, rows: list[tuple[str, ...]]) -> None:
        widths = [max(len(cells[i]) for cells in [HEADER, *rows]) for i in range(len(HEADER))]
        for cells in [HEADER, *rows]:
            first, *rest = cells
            line = [first.ljust(widths[0]), *(cell.rjust(width) for cell, width in zip(rest, widths[1:], strict=True))]
            self.stdout.write("  ".join(line).rstrip())
