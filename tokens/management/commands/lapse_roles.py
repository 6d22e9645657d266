from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from tokens import admin_ops


class Command(BaseCommand):
    help = "Take every time-boxed role whose time is up (each audited). Pages do this on every request too."

    def handle(self, *args: Any, **options: Any) -> None:
        taken = admin_ops.lapse_roles()
        self.stdout.write(f"{taken} time-boxed role(s) ended.")
