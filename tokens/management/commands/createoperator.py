from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tokens import admin_ops, roles
from tokens.actors import RequestContext
from tokens.errors import VaultError


class Command(BaseCommand):
    help = "Create an operator; prints a one-time password, to be changed at first sign-in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--roles", default="", help=f"comma-separated, from: {', '.join(roles.ROLES)}")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            wanted = roles.parse(options["roles"])
            user, password = admin_ops.create_operator(
                None, RequestContext(channel="cli"), options["username"], options["email"], wanted
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        except VaultError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"Created operator {user.username!r} with roles {', '.join(wanted) or '(none)'}.\n"
            "Their one-time password follows; it is shown only now and must be changed at first sign-in:"
        )
        self.stdout.write(password)
