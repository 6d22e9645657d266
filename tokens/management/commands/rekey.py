from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tokens import key_rotation, storage
from tokens.actors import RequestContext
from tokens.admin_ops import COMMAND_LINE
from tokens.errors import VaultError

BAR = 30


class Command(BaseCommand):
    help = (
        "Re-seal this region's tokens written under an older key version, or under per-item "
        "KMS, with the current version. Resumable (current items are skipped; --start-after "
        "skips the scan ahead), at most --rate items a second, each write conditional on the "
        "item being unchanged. Stopping it at any point leaves every item readable."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rate", type=float, default=50.0, help="items re-sealed per second, at most (50)"
        )
        parser.add_argument(
            "--start-after", default="", metavar="TOKEN_ID", help="continue the scan after this token id"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            total = storage.approximate_count()
        except VaultError:
            total = 0
        interactive = sys.stderr.isatty()

        def progress(summary: key_rotation.Summary) -> None:
            done = min(summary.scanned, total) if total else 0
            filled = BAR * done // total if total else 0
            of = f"/~{total}" if total else ""
            bar = "#" * filled + "." * (BAR - filled)
            line = f"[{bar}] {summary.scanned}{of} scanned, {summary.rekeyed} re-keyed"
            if interactive:
                self.stderr.write("\r" + line, ending="")
            else:  # a log (e.g. `zappa manage`, whose run may time out): say where to resume
                self.stderr.write(f"{line} (resume: --start-after {summary.resume_after})")

        summary = key_rotation.Summary()
        try:
            key_rotation.rekey(
                COMMAND_LINE,
                RequestContext(channel="cli"),
                rate=options["rate"],
                start_after=options["start_after"],
                progress=progress,
                summary=summary,
            )
        except (KeyboardInterrupt, VaultError) as exc:
            why = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"stopped: {exc.message}"
            resume = f" --start-after {summary.resume_after}" if summary.resume_after else ""
            raise CommandError(
                f"{why} ({summary.line()}). Every item is still readable; carry on with: "
                f"manage.py rekey{resume}"
            ) from None
        finally:
            if interactive:
                self.stderr.write("")
        self.stdout.write(f"rekey done: {summary.line()}")
        if summary.changed or summary.failed:
            self.stdout.write(
                "items that changed meanwhile were left as they are: run rekey again; "
                "items that failed verification are in the audit log (outcome integrity_failure)"
            )
