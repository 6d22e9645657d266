from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tokens.bootstrap import BootstrapError, add_region, bootstrap


class Command(BaseCommand):
    help = (
        "Create the vault's DynamoDB tables (and a KMS key on a local emulator), idempotently. "
        "With --replica-region, also replicate the tables (global tables) and the multi-Region "
        "KMS key into that region."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--replica-region",
            action="append",
            default=[],
            metavar="REGION",
            help="a second region to replicate into, e.g. ap-southeast-1 (repeatable)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            for line in bootstrap():
                self.stdout.write(line)
            for region in options["replica_region"]:
                for line in add_region(region):
                    self.stdout.write(line)
        except BootstrapError as exc:
            raise CommandError(str(exc)) from None
