from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from tokens import admin_ops, roles
from tokens.actors import PERMISSIONS, RequestContext
from tokens.models import ApiClient

LOCAL_CLIENT = "local-dev"
LOCAL_OPERATOR = "operator"


class Command(BaseCommand):
    help = (
        "Local emulator only: a fresh all-scopes API key, and an all-roles operator with a new sign-in link."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.AWS_ENDPOINT_URL or not settings.DEBUG:
            raise CommandError("local_accounts only runs against a local emulator with DEBUG on")
        ApiClient.objects.filter(name=LOCAL_CLIENT).delete()
        _, key = ApiClient.issue(LOCAL_CLIENT, list(PERMISSIONS))
        self.stdout.write(
            f"API key for client {LOCAL_CLIENT!r} (all scopes), new each run:\n  export VAULT_KEY={key}"
        )
        link = self._operator()
        self.stdout.write(
            f"\nOperator {LOCAL_OPERATOR!r} (all roles), a new sign-in link each run:\n"
            f"  {link}\n"
            f"  Open it, choose your password, sign in as {LOCAL_OPERATOR}, then scan the QR code"
            " with an authenticator app."
        )

    def _operator(self) -> str:
        ctx = RequestContext(channel="cli")
        # No email address: the command line is handed the link to print.
        if not get_user_model().objects.filter(username=LOCAL_OPERATOR).exists():
            _, invitation = admin_ops.create_operator(None, ctx, LOCAL_OPERATOR, "", list(roles.ROLES))
            return invitation.link
        user = get_user_model().objects.get(username=LOCAL_OPERATOR)
        for role in roles.ROLES:
            if not user.groups.filter(name=role).exists():
                admin_ops.grant_role(None, ctx, LOCAL_OPERATOR, role)
        reset = admin_ops.reset_operator(None, ctx, LOCAL_OPERATOR)
        assert reset is not None  # the command line resets at once, never asks
        return reset.link
