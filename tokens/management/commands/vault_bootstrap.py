from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tokens.bootstrap import BootstrapError, bootstrap


class Command(BaseCommand):
    help = "Create the vault's DynamoDB tables (and a KMS key on a local emulator), idempotently."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            lines = bootstrap()
        except BootstrapError as exc:
            raise CommandError(str(exc)) from None
        for line in lines:
            self.stdout.write(line)
