from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from monitoring import simulator


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

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.METRICS_SINK != "db":
            raise CommandError("backfill_metrics writes the local store; it needs METRICS_SINK=db")
        if not 0 < options["hours"] <= 24 * 35:
            raise CommandError("--hours must be between 0 and 840")
        region = options["region"] or settings.VAULT_REGION_CODE
        minutes, rows = simulator.backfill(region, options["hours"], seed=options["seed"])
        self.stdout.write(f"{region}: backfilled {minutes} minutes ({rows} buckets) of baseline traffic")
