from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tokens import audit, audit_checkpoint, audit_copy
from tokens.audit import Anchor

PROGRESS_EVERY = 100_000  # records between progress lines
CHECKPOINT_EVERY = 60.0  # seconds between checkpoints written during a run


class Command(BaseCommand):
    help = (
        "Verify every chain of the audit log, chain by chain in bounded memory; "
        "report progress and the first broken link. With --checkpoint, resume from "
        "the last signed checkpoint; with --against-copy, compare with the write-once copy."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--checkpoint",
            metavar="WHERE",
            help="a file, or 'dynamodb' (this region's alert-state table): resume from the "
            "signed checkpoint kept there, and keep the new one there",
        )
        parser.add_argument(
            "--restart",
            action="store_true",
            help="with --checkpoint: read every record, ignoring (and replacing) the stored checkpoint",
        )
        parser.add_argument(
            "--against-copy",
            nargs="?",
            const="",
            metavar="LOCATION",
            help="compare with the write-once copy: s3://bucket/prefix or a directory "
            "(default: the VAULT_AUDIT_COPY setting)",
        )
        parser.add_argument(
            "--lag",
            type=int,
            default=900,
            metavar="SECONDS",
            help="records younger than this may be missing from the copy (default 900)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        where = options["checkpoint"]
        copy_at = options["against_copy"]
        if copy_at == "":
            copy_at = settings.VAULT_AUDIT_COPY
            if not copy_at:
                raise CommandError("--against-copy: name a location, or set VAULT_AUDIT_COPY")
        old = None
        if where and not options["restart"]:
            try:
                old = audit_checkpoint.load(where)
            except audit_checkpoint.Refused as exc:
                raise CommandError(
                    f"checkpoint REFUSED: {exc}. Nothing was trusted; run with --restart to "
                    "verify every record and write a new checkpoint."
                ) from None
        if old is not None:
            self.stderr.write(f"resuming from the checkpoint of {old.at} ({len(old.chains)} chains)")

        verified: dict[str, Anchor] = {}
        reported, saved = [0], [time.monotonic()]

        def on_chain(chain: str, anchor: Anchor) -> None:
            verified[chain] = anchor
            if where and time.monotonic() - saved[0] >= CHECKPOINT_EVERY:
                audit_checkpoint.save(where, audit_checkpoint.merged(old, verified))
                saved[0] = time.monotonic()

        def progress(records: int, chains: int) -> None:
            if records - reported[0] >= PROGRESS_EVERY:
                reported[0] = records
                self.stderr.write(f"checked {records} records in {chains} chains")

        result = audit.verify(progress=progress, resume=old.chains if old else None, on_chain=on_chain)
        if not result.ok:
            raise CommandError(f"audit log BROKEN: {result.problem} ({result.records} records checked)")
        if where:
            audit_checkpoint.save(where, audit_checkpoint.merged(None, verified))
        read = "" if old is None else " read since the checkpoint"
        self.stdout.write(f"audit log intact: {result.records} records{read} in {result.chains} chains")
        if copy_at:
            self._compare(copy_at, verified, timedelta(seconds=options["lag"]))

    def _compare(self, location: str, verified: dict[str, Anchor], lag: timedelta) -> None:
        copy = audit_copy.read(location)
        found = audit_copy.compare(copy, verified, lag)
        if found.problems:
            raise CommandError("audit log and its copy DIFFER: " + "; ".join(found.problems))
        pending = f", {found.pending} newer records not copied yet" if found.pending else ""
        self.stdout.write(
            f"audit copy agrees: {copy.changes} changes in {copy.objects} objects, "
            f"{len(copy.chains)} chains{pending}"
        )
