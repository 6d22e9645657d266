"""Telling vault admins that a request waits for them: an email to each who
may decide it, and a message to the approvals SNS topic when one is set
(through monitoring, which alone talks to SNS). A notice that cannot be sent
is logged and the request stands: the Operators page and the dashboard show it."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail

from tokens import roles
from tokens.models import RoleRequest

log = logging.getLogger(__name__)


def deciders(request: RoleRequest) -> list[Any]:
    """Active vault admins other than the requester and the target."""
    return list(
        get_user_model()
        .objects.filter(groups__name=roles.STAFF_ROLE, is_active=True, is_superuser=False)
        .exclude(pk__in=[request.requested_by_id, request.target_id])
        .distinct()
        .order_by("username")
    )


def describe(request: RoleRequest) -> str:
    target = request.target.get_username()
    if request.kind == RoleRequest.GRANT:
        hours = f" for {request.hours} hours" if request.hours else ""
        return f"grant {request.role} to {target}{hours}"
    return f"reset {target} (new sign-in link, authenticators removed)"


def message(request: RoleRequest) -> tuple[str, str]:
    """Subject (under 100 characters, as SNS requires) and body."""
    asker = request.requested_by.get_username()
    subject = f"Token vault: {asker} asks to {describe(request)}"[:99]
    page = (
        (settings.VAULT_SITE_URL.rstrip("/") + "/operators")
        if settings.VAULT_SITE_URL
        else "the Operators page"
    )
    hours = int(RoleRequest.REQUEST_TTL.total_seconds() // 3600)
    body = "\n".join(
        [
            f"{asker} asks to {describe(request)}.",
            f"Reason: {request.reason}",
            "",
            f"A second vault admin must approve or reject it, with a comment, within {hours} hours: {page}",
        ]
    )
    return subject, body


def request_made(request: RoleRequest) -> None:
    subject, body = message(request)
    to = [user.email for user in deciders(request) if user.email]
    if to:
        try:
            send_mass_mail([(subject, body, None, [address]) for address in to])
        except Exception as exc:  # SMTP, SES or network
            log.error(
                "approval notice for request %s could not be emailed: %s", request.pk, type(exc).__name__
            )
    if settings.VAULT_APPROVALS_SNS_TOPIC_ARN:
        from monitoring import aws

        try:
            aws.publish(settings.VAULT_APPROVALS_SNS_TOPIC_ARN, subject, body)
        except aws.MonitoringUnavailable:
            log.error("approval notice for request %s could not be published", request.pk)
