from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tokens import csv_batches
from tokens.actors import PERMISSIONS, Actor, RequestContext
from tokens.errors import InvalidInput


class Command(BaseCommand):
    help = (
        "Tokenize a CSV file (header row = field names, optional 'expiry' column of Unix seconds or "
        "ISO 8601) into a CSV of row, tokenId, TTL, error; 99 rows per batch, each audited; "
        "a row is written whole or not at all."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", help="IN.csv")
        parser.add_argument("target", help="OUT.csv (written; holds token ids and errors, never a value)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor(kind="system", id="cli", name="(command line)", permissions=frozenset(PERMISSIONS))
        ctx = RequestContext(channel="cli", reason="tokenize_csv")
        with open(options["source"], newline="", encoding="utf-8-sig") as source:
            total = max(sum(1 for _ in source) - 1, 0)
            source.seek(0)
            started = time.monotonic()

            def progress(done: int) -> None:
                if options["no_progress"] or not total:
                    return
                width = 30
                filled = int(width * done / total)
                rate = done / max(time.monotonic() - started, 1e-6)
                sys.stderr.write(
                    f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} rows {rate:.0f}/s"
                )
                sys.stderr.flush()

            with open(options["target"], "w", newline="", encoding="utf-8") as target:
                try:
                    made, failed = csv_batches.tokenize(actor, ctx, source, target, progress)
                except InvalidInput as exc:
                    raise CommandError(exc.message) from None
        if total and not options["no_progress"]:
            sys.stderr.write("\n")
        self.stdout.write(
            f"{made} rows tokenized, {failed} refused (see the error column of {options['target']})"
        )
