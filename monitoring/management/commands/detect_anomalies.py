from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from monitoring import csvseries


class Command(BaseCommand):
    help = (
        "Band a timestamp,value CSV (ISO 8601 or Unix seconds, one row per period) with the built-in "
        'detector; print one JSON object per row: {"timestamp", "value", "lower", "upper", "anomaly"}.'
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--input", required=True, help="CSV file, or - for standard input")
        parser.add_argument(
            "--gauge",
            action="store_true",
            help="the values are measurements (e.g. latency), not counts: no Poisson floor",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["input"]
        try:
            if path == "-":
                rows = csvseries.read(sys.stdin)
            else:
                with open(path, newline="", encoding="utf-8") as stream:
                    rows = csvseries.read(stream)
            for result in csvseries.band_rows(rows, counts=not options["gauge"]):
                self.stdout.write(json.dumps(result, separators=(",", ":")))
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        except csvseries.SeriesError as exc:
            raise CommandError(f"{path}: {exc}") from None
