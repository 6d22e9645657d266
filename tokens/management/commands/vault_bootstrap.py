from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from tokens.bootstrap import bootstrap


class Command(BaseCommand):
    help = "Create the vault's DynamoDB tables (and a KMS key on a local emulator), idempotently."

    def handle(self, *args: Any, **options: Any) -> None:
        for line in bootstrap():
            self.stdout.write(line)
