from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from monitoring import callers, simulator


class Command(BaseCommand):
    help = (
        "Local demo: write a compressed baseline (the seed's one write and one read a minute, plus a "
        "little noise) for the last few hours straight into the local metric store, so the band is "
        "learned before you run the read-loop and enumeration scenarios."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--hours", type=float, default=6.0)
        parser.add_argument("--region", default="", help="vault region code (default: this one's)")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument(
            "--caller",
            action="append",
            default=[],
            help="also a calm history of about one read a minute for this caller (client:1, user:2); "
            "repeat for more",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.METRICS_SINK != "db":
            raise CommandError("backfill_metrics writes the local store; it needs METRICS_SINK=db")
        if not 0 < options["hours"] <= 24 * 35:
            raise CommandError("--hours must be between 0 and 840")
        region = options["region"] or settings.VAULT_REGION_CODE
        bad = [c for c in options["caller"] if not callers.is_caller(c)]
        if bad:
            raise CommandError("--caller takes an id such as client:1 or user:2")
        minutes, rows = simulator.backfill(region, options["hours"], seed=options["seed"])
        self.stdout.write(f"{region}: backfilled {minutes} minutes ({rows} buckets) of baseline traffic")
        for caller in options["caller"]:
            filled = simulator.backfill_caller(region, caller, options["hours"], seed=options["seed"])
            self.stdout.write(f"{region}: backfilled {filled} minutes of calm reads for {caller}")
