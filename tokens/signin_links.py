"""Sign-in links: how an operator gets into a new or reset account.

The link carries Django's password-reset token for the account: it works once
(setting a password changes what it was made from), only within
PASSWORD_RESET_TIMEOUT, and only while the account is active. It goes to the
operator by email; the vault admin who asked never sees it. Only the command
line, trusted as much as the host, may be handed a link to pass on.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tokens.errors import InvalidInput

log = logging.getLogger(__name__)


def require_site_url() -> None:
    """Checked before an account changes, so no account is left without a link."""
    if not settings.VAULT_SITE_URL:
        raise InvalidInput("sign-in link: VAULT_SITE_URL is not set, so no link can be made")


def link_for(user: Any) -> str:
    require_site_url()
    path = reverse(
        "signin-link", kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": "x"}
    )
    # The token goes last, outside reverse(), so it never sits in a URL cache.
    return (
        settings.VAULT_SITE_URL.rstrip("/")
        + path[: -len("x/")]
        + default_token_generator.make_token(user)
        + "/"
    )


def send(user: Any, link: str, why: str) -> bool:
    """Email the link to the operator; False (and a log line, never the link) if it
    could not be sent."""
    hours = settings.PASSWORD_RESET_TIMEOUT // 3600
    body = "\n".join(
        [
            f"Hello {user.get_username()},",
            "",
            f"{why} Open this link to choose your password; it works once, for {hours} hours:",
            "",
            link,
            "",
            "Then sign in with your username and that password, and enrol an authenticator app.",
            "If you did not expect this, tell a vault admin.",
        ]
    )
    try:
        send_mail("Your token vault sign-in link", body, None, [user.email])
    except Exception as exc:  # SMTP, SES or network: the account stays as it is
        log.error("sign-in link for user:%s could not be sent: %s", user.pk, type(exc).__name__)
        return False
    return True
