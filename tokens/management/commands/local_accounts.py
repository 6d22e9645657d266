from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tokens.actors import PERMISSIONS
from tokens.models import ApiClient

LOCAL_CLIENT = "local-dev"


class Command(BaseCommand):
    help = "Local emulator only: issue a fresh all-scopes API key and print how to use it."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.AWS_ENDPOINT_URL or not settings.DEBUG:
            raise CommandError("local_accounts only runs against a local emulator with DEBUG on")
        ApiClient.objects.filter(name=LOCAL_CLIENT).delete()
        _, key = ApiClient.issue(LOCAL_CLIENT, list(PERMISSIONS))
        self.stdout.write(
            f"API key for client {LOCAL_CLIENT!r} (all scopes), new each run:\n  export VAULT_KEY={key}"
        )
