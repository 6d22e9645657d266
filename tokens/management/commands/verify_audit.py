from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tokens import audit


class Command(BaseCommand):
    help = "Verify every chain of the audit log; report the first broken link."

    def handle(self, *args: Any, **options: Any) -> None:
        result = audit.verify()
        if not result.ok:
            raise CommandError(f"audit log BROKEN: {result.problem} ({result.records} records checked)")
        self.stdout.write(f"audit log intact: {result.records} records in {result.chains} chains")
