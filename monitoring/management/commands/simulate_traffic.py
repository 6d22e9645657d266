from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from monitoring import simulator


class Command(BaseCommand):
    help = (
        "Drive the vault's JSON API over HTTP like the seed's test plan: baseline (one write and one "
        "read a minute), read-loop (100 reads of one token), enumeration (100 reads of unknown tokens)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--scenario", required=True, choices=["baseline", "read-loop", "enumeration"])
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the vault's base URL")
        parser.add_argument("--key", required=True, help="an API key (tokenize and detokenize scopes)")
        parser.add_argument("--count", type=int, default=100, help="reads for read-loop and enumeration")
        parser.add_argument("--minutes", type=int, default=60, help="baseline: how many ticks")
        parser.add_argument("--interval", type=float, default=60.0, help="baseline: seconds per tick")
        parser.add_argument(
            "--token",
            default="",
            help="read-loop: the token to read (default: a new one); enumeration: one id to ask for "
            'every time, e.g. the seed\'s "zzzz" (default: random well-formed ids)',
        )
        parser.add_argument(
            "--region", default="", help="enumeration: region code in the made-up ids (default: this one's)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        client = simulator.VaultClient(options["url"], options["key"])
        scenario = options["scenario"]
        try:
            if scenario == "baseline":
                seen = simulator.baseline(client, options["minutes"], options["interval"])
            elif scenario == "read-loop":
                seen = simulator.read_loop(client, options["count"], options["token"])
            else:
                region = options["region"] or settings.VAULT_REGION_CODE
                seen = simulator.enumeration(client, options["count"], region, options["token"])
        except simulator.SimulatorError as exc:
            raise CommandError(str(exc)) from None
        summary = ", ".join(f"{n} x {what}" for what, n in sorted(seen.items()))
        self.stdout.write(f"{scenario}: {summary}")
