from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models, transaction
from django.utils import timezone

from tokens import api_keys
from tokens.actors import PERMISSIONS


def validate_scopes(value: list[str]) -> None:
    if not isinstance(value, list) or not value or any(s not in PERMISSIONS for s in value):
        raise ValidationError(f"scopes: a non-empty list from {', '.join(PERMISSIONS)}")


def validate_fields(value: list[str] | None) -> None:
    if value is not None and (not isinstance(value, list) or not all(isinstance(f, str) for f in value)):
        raise ValidationError("allowed fields: a list of field names, or empty for all")


class ApiClient(models.Model):
    """A service that calls the JSON API. Its key is stored only as a keyed hash.

    Every save is mirrored to the DynamoDB clients table, which is what the API
    reads; if the mirror cannot be written, the save is rolled back.
    """

    name = models.CharField(max_length=100, unique=True)
    scopes = models.JSONField(default=list, validators=[validate_scopes])
    allowed_fields = models.JSONField(
        null=True, blank=True, validators=[validate_fields],
        help_text="Field names this client may detokenize; empty means all.",
    )  # fmt: skip
    masked_fields = models.JSONField(
        null=True, blank=True, validators=[validate_fields],
        help_text="Field names this client only ever receives masked; [\"*\"] means all.",
    )  # fmt: skip
    rate_limit = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)],
        help_text="Requests a minute per process (a detokenize batch of n counts n); "
        "empty means VAULT_API_RATE_LIMIT.",
    )  # fmt: skip
    active = models.BooleanField(default=True)
    prefix = models.CharField(max_length=12, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        permissions = [("manage_apiclient", "Can manage API clients")]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def issue(
        cls,
        name: str,
        scopes: list[str],
        allowed_fields: list[str] | None = None,
        masked_fields: list[str] | None = None,
        rate_limit: int | None = None,
    ) -> tuple[ApiClient, str]:
        """Create a client; return it with its key, which is never stored."""
        prefix, key = api_keys.new_key()
        client = cls(
            name=name, scopes=scopes, allowed_fields=allowed_fields or None,
            masked_fields=masked_fields or None, rate_limit=rate_limit, prefix=prefix,
        )  # fmt: skip
        client.key_hash = api_keys.key_hash(key)
        client.full_clean()
        client.save()
        return client, key

    def save(self, *args: Any, **kwargs: Any) -> None:
        with transaction.atomic():
            super().save(*args, **kwargs)
            api_keys.publish(
                self.prefix, client_id=self.pk, name=self.name, scopes=list(self.scopes),
                fields=self.allowed_fields or None, masked=self.masked_fields or None,
                active=self.active, hashed=self.key_hash, rate_limit=self.rate_limit,
            )  # fmt: skip

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        # Revoke in the mirror first: a deleted client must never still authenticate.
        self.active = False
        self.save()
        return super().delete(*args, **kwargs)

    @property
    def last_used(self) -> datetime | None:
        when = api_keys.last_used(self.prefix)
        return None if when is None else datetime.fromtimestamp(when, tz=UTC)


class VaultAccess(models.Model):
    """No table: holds the custom permissions that operator roles (groups) grant."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("tokenize", "Can create tokens"),
            ("detokenize", "Can reveal token values"),
            ("manage_ttl", "Can change expiry and purge tokens"),
            ("view_audit", "Can read the audit log and monitoring"),
            ("manage_operators", "Can manage operators and API clients"),
        ]


class OperatorAccount(models.Model):
    """What the vault keeps about an operator beyond Django's user: whether they
    still have to choose a password (through their sign-in link), and when they
    last lost a sensitive role (a reset soon after still takes two vault admins)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vault_account"
    )
    must_change_password = models.BooleanField(default=True)
    created_by = models.CharField(max_length=150, blank=True)
    sensitive_role_ended = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"operator account of {self.user}"


class RoleRequest(models.Model):
    """Dual control: a sensitive grant or a reset one vault admin asked for and
    a second must approve (tokens.admin_ops). Older than REQUEST_TTL, it can no
    longer be approved."""

    GRANT = "grant"
    RESET = "reset"
    PENDING, APPROVED, REJECTED, CANCELLED = "pending", "approved", "rejected", "cancelled"
    REQUEST_TTL = timedelta(hours=24)
    # The longest a time-boxed grant may run.
    MAX_HOURS = 7 * 24

    kind = models.CharField(max_length=10, choices=[(GRANT, "grant"), (RESET, "reset")])
    target = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=50, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    state = models.CharField(
        max_length=10,
        choices=[
            (PENDING, "pending"),
            (APPROVED, "approved"),
            (REJECTED, "rejected"),
            (CANCELLED, "cancelled"),
        ],
        default=PENDING,
    )
    # The requester's written reason, and the decider's comment.
    reason = models.TextField(blank=True)
    comment = models.TextField(blank=True)
    # A grant for this many hours only (time-boxed); None for a lasting grant.
    hours = models.PositiveIntegerField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created"]

    def __str__(self) -> str:
        what = f"{self.role} to" if self.kind == self.GRANT else "reset of"
        return f"{what} {self.target} requested by {self.requested_by} ({self.state})"

    @property
    def expired(self) -> bool:
        return self.created <= timezone.now() - self.REQUEST_TTL

    @classmethod
    def open(cls) -> models.QuerySet[RoleRequest]:
        """Pending and not yet expired."""
        return cls.objects.filter(state=cls.PENDING, created__gt=timezone.now() - cls.REQUEST_TTL)


class TimedRole(models.Model):
    """A role granted until `ends`: it lapses by itself (tokens.admin_ops.lapse_roles,
    run on every operator request and by the scheduled check), audited."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=50)
    ends = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["ends"]
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="one_end_per_role")]

    def __str__(self) -> str:
        return f"{self.role} of {self.user} until {self.ends:%Y-%m-%d %H:%M} UTC"
