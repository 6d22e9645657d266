from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tokens import admin_ops
from tokens.actors import RequestContext
from tokens.errors import VaultError


class Command(BaseCommand):
    help = (
        "Set an API client's rate limit: requests a minute per serving process (a detokenize batch "
        "of n counts n, a tokenize batch one), or 'default' for VAULT_API_RATE_LIMIT. Audited; "
        "serving processes apply it within API_KEY_CACHE_SECONDS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("limit", help="requests a minute, or 'default'")

    def handle(self, *args: Any, **options: Any) -> None:
        text = options["limit"].strip()
        if text == "default":
            limit = None
        elif text.isascii() and text.isdigit():
            limit = int(text)
        else:
            raise CommandError("limit: a whole number of requests a minute, or 'default'")
        try:
            client = admin_ops.set_client_rate_limit(
                None, RequestContext(channel="cli"), options["name"], limit
            )
        except VaultError as exc:
            raise CommandError(exc.message) from None
        shown = (
            f"{client.rate_limit}"
            if client.rate_limit is not None
            else f"the default ({settings.VAULT_API_RATE_LIMIT})"
        )
        self.stdout.write(f"API client {client.name!r} may make {shown} requests a minute per process.")
