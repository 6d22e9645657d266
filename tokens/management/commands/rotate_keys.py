from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tokens import key_rotation, keystore
from tokens.actors import RequestContext
from tokens.admin_ops import COMMAND_LINE
from tokens.errors import VaultError


class Command(BaseCommand):
    help = (
        "Add a new version of this region's key material (audited). New items are sealed "
        "with it once each process's cached version expires (VAULT_KEY_CACHE_SECONDS); "
        "older items still read. Then run `rekey` to re-seal them."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            version = key_rotation.rotate(COMMAND_LINE, RequestContext(channel="cli"))
        except VaultError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"key material {keystore.material_name()}: version {version} added; processes seal with it "
            f"within {settings.VAULT_KEY_CACHE_SECONDS} s"
        )
