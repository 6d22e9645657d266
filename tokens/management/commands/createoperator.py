from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tokens import admin_ops, roles
from tokens.actors import RequestContext
from tokens.errors import VaultError


class Command(BaseCommand):
    help = (
        "Create an operator with no password: a sign-in link goes to --email, or is printed"
        " here when there is none, to pass on by a safe channel."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--roles", default="", help=f"comma-separated, from: {', '.join(roles.ROLES)}")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            wanted = roles.parse(options["roles"])
            user, invitation = admin_ops.create_operator(
                None, RequestContext(channel="cli"), options["username"], options["email"], wanted
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        except VaultError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Created operator {user.username!r} with roles {', '.join(wanted) or '(none)'}.")
        show_invitation(self.stdout, invitation)


def show_invitation(out: Any, invitation: admin_ops.Invitation) -> None:
    if invitation.sent:
        out.write(f"Their sign-in link went to {invitation.email}; with it they choose their password.")
    else:
        hours = settings.VAULT_SIGN_IN_LINK_HOURS
        out.write(
            f"Their sign-in link (works once, for {hours} hours), to pass on by a safe channel;"
            " with it they choose their password:"
        )
        out.write(invitation.link)
