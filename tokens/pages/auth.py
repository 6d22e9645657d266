"""Sign-in policy on top of django-allauth: no sign-up, MFA only for
re-authentication once enrolled, and "recently authenticated" meaning a sign-in or a
re-authentication within VAULT_REVEAL_FRESH_AUTH seconds."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.auth_backends import AuthenticationBackend
from allauth.account.authentication import get_authentication_records
from allauth.account.forms import ChangePasswordForm as AllauthChangePasswordForm
from allauth.core.exceptions import ReauthenticationRequired
from allauth.mfa.totp.forms import ActivateTOTPForm as AllauthActivateTOTPForm
from allauth.mfa.totp.internal.auth import get_totp_secret
from allauth.mfa.utils import is_mfa_enabled
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth.views import PasswordResetConfirmView
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse, reverse_lazy

from tokens import operator_events
from tokens.models import OperatorAccount

# How long a code typed to change an authenticator stays good for that change.
CODE_FRESH_SECONDS = 120
SPENT_CODE_KEY = "vault_authenticator_change_code_at"


def last_authenticated_at(request: HttpRequest) -> float | None:
    """When this session last proved who it is (password, MFA code, re-authentication)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    times = [
        r["at"] for r in get_authentication_records(request, user) if isinstance(r.get("at"), (int, float))
    ]
    return max(times) if times else None


def last_code_at(request: HttpRequest) -> float | None:
    """When this session last re-authenticated with an authenticator code."""
    times = [
        r["at"]
        for r in get_authentication_records(request, request.user)
        if r.get("reauthenticated") and r.get("method") == "mfa" and isinstance(r.get("at"), (int, float))
    ]
    return max(times) if times else None


def fresh_code_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For the pages that remove or replace an authenticator: every change (a
    POST) needs a code typed for it, within CODE_FRESH_SECONDS, and each code
    serves one change. A sign-in, or a re-authentication for a reveal, is not
    enough: a stolen session could otherwise swap the authenticator for its own.
    allauth's middleware sends the operator to its code page and then replays
    the change, through this check again."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if request.method == "POST" and user.is_authenticated and is_mfa_enabled(user):
            at = last_code_at(request)
            spent = float(request.session.get(SPENT_CODE_KEY, 0))
            if at is None or at <= spent or time.time() - at > CODE_FRESH_SECONDS:
                raise ReauthenticationRequired()
            request.session[SPENT_CODE_KEY] = at
        return view(request, *args, **kwargs)

    return checked


# What a pending re-authentication is for, named on allauth's page (a token's id, never a value).
PURPOSE_KEY = "vault_reauthentication_purpose"


def reauthentication_for(request: HttpRequest, action: str, token_id: str) -> ReauthenticationRequired:
    """The exception that sends the operator to confirm who they are, remembering
    which action on which token it is for (allauth's middleware keeps the POST
    itself and replays it afterwards)."""
    request.session[PURPOSE_KEY] = {"action": action, "token": token_id, "next": request.get_full_path()}
    return ReauthenticationRequired()


def reauthentication_purpose(request: HttpRequest) -> dict[str, str] | None:
    """What the re-authentication on this page is for, if it is the one we asked for."""
    purpose = request.session.get(PURPOSE_KEY)
    if not isinstance(purpose, dict):
        return None
    going_to = request.GET.get("next") or request.POST.get("next")
    return purpose if going_to == purpose.get("next") else None


def recently_authenticated(request: HttpRequest, now: float | None = None) -> bool:
    at = last_authenticated_at(request)
    now = time.time() if now is None else now
    return at is not None and now - at < settings.VAULT_REVEAL_FRESH_AUTH


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Operators are created by a vault admin (page or `createoperator`), never by themselves.
        return False

    def is_reauthentication_required(self, *, app: str, **kwargs: Any) -> bool:
        # allauth counts only re-authentications; a sign-in a minute ago is as good.
        if self.request is not None and recently_authenticated(self.request):
            return False
        return super().is_reauthentication_required(app=app, **kwargs)

    def get_reauthentication_methods(self, user: Any) -> list[dict[str, Any]]:
        # A stolen session plus a typed password is not enough: once an operator
        # has an authenticator, only a fresh code re-authenticates them. allauth's
        # password (and emailed code) views then send them to the code page.
        methods = super().get_reauthentication_methods(user)
        if user.is_authenticated and is_mfa_enabled(user):
            return [m for m in methods if str(m["id"]).startswith("mfa")]
        return methods

    def get_password_change_redirect_url(self, request: HttpRequest) -> str:
        return reverse("pages:dashboard")

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            # Rate limited: record it against the account if the name is one.
            login = str(credentials.get("username") or credentials.get("email") or "")
            user = operator_events.account_named(login)
            operator_events.record("sign_in_throttled", "denied", user, request, "too many failed sign-ins")
            raise

    def authenticate(self, request: HttpRequest, **credentials: Any) -> Any:
        """allauth's, less its one exception: it lets through an account our
        backend refused (deactivated, superuser) to show an "inactive" page,
        which tells whoever typed the password that it was right. Here a refused
        account gets the answer, and the rate-limit count, of a wrong password
        (audited by the user_login_failed signal)."""
        self.pre_authenticate(request, **credentials)
        AuthenticationBackend.unstash_authenticated_user()
        user = authenticate(request, **credentials)
        AuthenticationBackend.unstash_authenticated_user()  # refused accounts stay refused
        if user is not None:
            self._rollback_login_failed_rl_usage()
        else:
            self.authentication_failed(request, **credentials)
        return user

    def reauthenticate(self, user: Any, password: str) -> bool:
        ok = super().reauthenticate(user, password)
        if ok:
            operator_events.record("reauthenticate", "success", user, self.request, detail="password")
        return ok

    def set_password(self, user: Any, password: str) -> None:
        # The operator chose a password: the one-time password is spent.
        super().set_password(user, password)
        OperatorAccount.objects.filter(user=user).update(must_change_password=False)


class SignInLinkView(PasswordResetConfirmView):
    """An operator's sign-in link (tokens.signin_links): choose a password, then
    sign in as usual. Django's view swaps the token out of the URL at once, so
    it is not left in the address bar or a Referer."""

    template_name = "account/signin_link.html"
    success_url = reverse_lazy("account_login")
    post_reset_login = False

    def get_user(self, uidb64: str) -> Any:
        user = super().get_user(uidb64)
        # A deactivated account, or a superuser, gets no way in through a link.
        return user if user is not None and user.is_active and not user.is_superuser else None

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        user = form.user
        OperatorAccount.objects.filter(user=user).update(must_change_password=False)
        operator_events.record("password_set", "success", user, self.request, detail="sign-in link")
        messages.success(self.request, "Password set. Sign in with it, then enrol an authenticator app.")
        return response


class ChangePasswordForm(AllauthChangePasswordForm):
    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("oldpassword") and data.get("password1") == data.get("oldpassword"):
            self.add_error("password1", "Choose a new password, not the one you were given.")
        return data


class ActivateTOTPForm(AllauthActivateTOTPForm):
    """allauth's, less a new secret on every GET: a reload of the set-up page would
    silently replace a QR code the operator may already have scanned. The pending
    secret stays in the session until it is enrolled (allauth then removes it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.user = kwargs.pop("user")
        forms.Form.__init__(self, *args, **kwargs)  # skipping the parent's regenerate-on-GET
        self.secret = get_totp_secret(regenerate=False)
