from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tokens import admin_ops
from tokens.actors import RequestContext
from tokens.errors import VaultError


class Command(BaseCommand):
    help = "Create an API client; its key is printed once, alone on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--scopes", required=True, help="comma-separated: tokenize,detokenize,...")
        parser.add_argument(
            "--fields", default="", help="comma-separated fields it may detokenize (default all)"
        )
        parser.add_argument(
            "--masked-fields",
            default="",
            help="comma-separated fields it only ever receives masked ('*' for all; default none)",
        )
        parser.add_argument(
            "--rate-limit",
            type=int,
            default=None,
            help="requests a minute per serving process (a detokenize batch of n counts n, a tokenize "
            "batch one; default VAULT_API_RATE_LIMIT); change it later with setratelimit",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        scopes = [s for s in options["scopes"].split(",") if s]
        fields = [f for f in options["fields"].split(",") if f]
        masked = [f for f in options["masked_fields"].split(",") if f]
        try:
            # Through admin_ops, like the API clients page: validated and audited.
            client, key = admin_ops.create_client(
                None, RequestContext(channel="cli"), options["name"], scopes, fields, masked,
                options["rate_limit"],
            )  # fmt: skip
        except VaultError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Created API client {client.name!r} with scopes {','.join(client.scopes)}.")
        self.stdout.write("Its key follows; it is shown only now:")
        self.stdout.write(key)
