from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tokens import admin_ops
from tokens.actors import RequestContext
from tokens.errors import VaultError


class Command(BaseCommand):
    help = (
        "Rotate SECRET_KEY, API_KEY_PEPPER or AUDIT_HMAC_KEY in Secrets Manager (VAULT_SECRETS_PREFIX): "
        "a new value becomes current, older ones keep verifying what they made. Audited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="SECRET_KEY, API_KEY_PEPPER or AUDIT_HMAC_KEY")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            new_id = admin_ops.rotate_secret(RequestContext(channel="cli"), options["name"])
        except VaultError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"{options['name']}: value {new_id} is current; older values still verify.")
        self.stdout.write("Functions read it at their next cold start (docs/deploy.md, Rotating a secret).")
