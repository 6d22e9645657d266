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
        parser.add_argument(
            "--creator",
            help="the actor id the token list names as their creator, e.g. client:7: the API client "
            "whose tokens they stand among (default: this command)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count = options["count"]
        made = 0
        try:
            names = honeytokens.field_names(options["fields"])
            planting = honeytokens.planting(
                COMMAND_LINE, RequestContext(channel="cli"), count, names, options["creator"]
            )
            for token_id in planting:
                if not made:
                    self.stdout.write(
                        f"Planting {count} decoy token(s) with fields {', '.join(names)}; "
                        "put them where a thief would look (docs/monitoring.md):"
                    )
                self.stdout.write(token_id)
                made += 1
        except VaultError as exc:
            stopped = f" (stopped after {made} of {count}; the ids above were planted)" if made else ""
            raise CommandError(exc.message + stopped) from None
