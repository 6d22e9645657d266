from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tokens import honeytokens
from tokens.actors import RequestContext
from tokens.admin_ops import COMMAND_LINE
from tokens.errors import VaultError


class Command(BaseCommand):
    help = (
        "Plant decoy tokens (honeytokens): ordinary-looking tokens holding fake values that "
        "are never valid real data. Any use of one is audited as `honeytoken` and alerted on "
        "at once (check_anomalies, SNS, the monitoring page). Prints their ids, one per line, last."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--count", type=int, required=True, help=f"how many (1 to {honeytokens.MAX_PLANT})"
        )
        parser.add_argument(
            "--fields",
            default=",".join(honeytokens.DEFAULT_FIELDS),
            help="comma-separated field names, typed as real tokens' are (default: card_number,cvc)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            names = honeytokens.field_names(options["fields"])
            planted = honeytokens.plant(COMMAND_LINE, RequestContext(channel="cli"), options["count"], names)
        except VaultError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"{len(planted)} decoy token(s) planted with fields {', '.join(names)}; "
            "put them where a thief would look (docs/monitoring.md):"
        )
        for token_id in planted:
            self.stdout.write(token_id)
