"""Settings for the token vault, all read from environment variables here.

Nothing else in the project reads os.environ. Helpers fail loudly: a bad value
or a missing production secret stops start-up.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from vaultsite import secrets as vault_secrets

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean, got {raw!r}")


def envint(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def envfloat(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None


def envstr(name: str, default: str) -> str:
    return os.environ.get(name) or default


# --- a second shell beside `make run` ---------------------------------------------
# make run writes its local environment (the emulator's random port, its local secrets)
# to .local.env while it runs, so manage.py in another shell at the checkout needs
# nothing exported. Read only in a checkout, never on Lambda, only while the make run
# that wrote it is alive, and never over a variable already set. VAULT_LOCAL_ENV names
# another file (relative to the checkout); empty reads none (the test suite).
def _local_env(path: Path) -> dict[str, str]:
    try:
        pairs = dict(
            line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and line[0] != "#"
        )
        os.kill(int(pairs.pop("MAKE_RUN_PID")), 0)
    except (OSError, KeyError, ValueError):  # no file, or left behind by a make run that has ended
        return {}
    return pairs


_local_env_file = os.environ.get("VAULT_LOCAL_ENV", ".local.env")
if _local_env_file and (BASE_DIR / ".git").exists() and not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    for _name, _value in _local_env(BASE_DIR / _local_env_file).items():
        os.environ.setdefault(_name, _value)


DEBUG = envbool("DEBUG", False)
ALLOWED_HOSTS = [h for h in envstr("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in envstr("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "tokens",
    "monitoring",
]

MIDDLEWARE = [
    "vaultsite.middleware.RequestBudgetMiddleware",
    "vaultsite.middleware.GatewaySourceIpMiddleware",
    "vaultsite.middleware.ContentLengthMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Sign-in says "signed out after N minutes without activity"; vault.js warns before.
    "tokens.pages.middleware.IdleSignOutMiddleware",
    # Time-boxed roles whose time is up are taken before any operator page answers.
    "tokens.pages.middleware.RoleLapseMiddleware",
    # Signed-in operators: own password chosen, then MFA enrolled, before anything else.
    "tokens.pages.middleware.OperatorGateMiddleware",
]

ROOT_URLCONF = "vaultsite.urls"
WSGI_APPLICATION = "vaultsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# The app serves its own few static files (CSS, small scripts), from the apps'
# static folders, so Lambda needs no collectstatic step or separate bucket.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# The whole JSON body of an API request; bigger bodies get 413 (JSON escaping can
# make 32 fields of 4 KiB six times larger).
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("DATA_UPLOAD_MAX_MEMORY_SIZE", 1048576)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_paths": {"()": "tokens.redaction.RedactPaths"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_paths"]}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {
        # The encryption SDK logs every KMS failure with a traceback; we log our own line.
        "dynamodb_encryption_sdk": {"level": "CRITICAL"},
        "botocore": {"level": "WARNING"},
        # Zappa logs every request line (path and query string) at INFO; the
        # audit log records what matters, without what callers typed.
        "zappa.wsgi": {"level": "WARNING"},
        "zappa.handler": {"level": "WARNING"},
        "django.request": {"filters": ["redact_paths"]},
        "django.server": {"filters": ["redact_paths"]},
    },
}

# --- AWS and the vault ------------------------------------------------------
# Region codes name the region of origin inside every token id.
REGION_CODES = {"ap-southeast-2": "SYD", "ap-southeast-1": "SIN"}

AWS_REGION = envstr("AWS_REGION", envstr("AWS_DEFAULT_REGION", "ap-southeast-2"))
# Points boto3 at a local emulator (moto's server); empty on AWS.
AWS_ENDPOINT_URL = envstr("AWS_ENDPOINT_URL", "")
VAULT_REGION_CODE = envstr("VAULT_REGION_CODE", REGION_CODES.get(AWS_REGION, ""))
if not VAULT_REGION_CODE.isalpha() or not VAULT_REGION_CODE.isupper():
    raise ImproperlyConfigured("VAULT_REGION_CODE must be upper-case letters, e.g. SYD")

# DynamoDB table holding the encrypted items.
VAULT_TABLE = envstr("VAULT_TABLE", "sensitive-data")
# DynamoDB table holding the hash-chained audit log (a global table on AWS).
VAULT_AUDIT_TABLE = envstr("VAULT_AUDIT_TABLE", "vault-audit")
# DynamoDB table the API authenticates against (a mirror of the ApiClient model).
VAULT_CLIENTS_TABLE = envstr("VAULT_CLIENTS_TABLE", "vault-api-clients")
# DynamoDB table of when each metric last alerted: one per region, not global, so each
# region's alerting stands alone (tokens/alert_state.py).
VAULT_ALERT_STATE_TABLE = envstr("VAULT_ALERT_STATE_TABLE", "vault-alert-state")
# DynamoDB table of Idempotency-Key records (keyed hashes and answers, never a value; 24 h TTL).
VAULT_IDEMPOTENCY_TABLE = envstr("VAULT_IDEMPOTENCY_TABLE", "vault-idempotency")
# The audit log's write-once copy in this region (infra/cfn/audit-copy.yaml), for
# `verify_audit --against-copy`: s3://bucket/prefix, or a directory; "" for none.
VAULT_AUDIT_COPY = envstr("VAULT_AUDIT_COPY", "")
# DynamoDB table holding the versioned wrapping and signing keys (the SDK's MetaStore),
# themselves encrypted under the KMS key (a global table on AWS).
VAULT_KEYS_TABLE = envstr("VAULT_KEYS_TABLE", "vault-keys")
# "cached": items' keys are wrapped by a versioned key from VAULT_KEYS_TABLE, so KMS
# is called only when a process loads a version; "kms-per-item": one KMS call per item.
VAULT_KEY_MODE = envstr("VAULT_KEY_MODE", "cached")
if VAULT_KEY_MODE not in ("cached", "kms-per-item"):
    raise ImproperlyConfigured(f"VAULT_KEY_MODE must be cached or kms-per-item, got {VAULT_KEY_MODE!r}")
# Seconds a process keeps a loaded key version before reading it (and calling KMS) again;
# also how long a process may go on encrypting under a version after a rotation.
VAULT_KEY_CACHE_SECONDS = envint("VAULT_KEY_CACHE_SECONDS", 300)
if VAULT_KEY_CACHE_SECONDS < 1:
    raise ImproperlyConfigured("VAULT_KEY_CACHE_SECONDS must be at least 1")
# KMS key: id, ARN or alias. On AWS, the multi-Region key's ARN in this region.
VAULT_KMS_KEY = envstr("VAULT_KMS_KEY", "alias/tokenizer")
# A key ARN must be this region's: the encryption SDK calls KMS in the ARN's region,
# so another region's ARN would send every request across regions (deploy check).
if VAULT_KMS_KEY.startswith("arn:") and VAULT_KMS_KEY.split(":")[3] != AWS_REGION:
    raise ImproperlyConfigured(f"VAULT_KMS_KEY must be a key ARN in {AWS_REGION}, this function's region")
# Retention when a caller gives no TTL, and the longest a token may live (seconds).
VAULT_DEFAULT_RETENTION = envint("VAULT_DEFAULT_RETENTION", 30 * 86400)
VAULT_MAX_RETENTION = envint("VAULT_MAX_RETENTION", 400 * 86400)
if not 0 < VAULT_DEFAULT_RETENTION <= VAULT_MAX_RETENTION:
    raise ImproperlyConfigured("need 0 < VAULT_DEFAULT_RETENTION <= VAULT_MAX_RETENTION")
# Field types (tokens/fieldtypes.py): well-known names get a type; every other
# field is "string". VAULT_FIELD_TYPES="passport:string,pan:card" adds or overrides.
FIELD_TYPE_NAMES = ("card", "cvc", "date", "us_ssn", "email", "string")
VAULT_FIELD_TYPES = {
    "card_number": "card",
    "cvc": "cvc",
    "cvv": "cvc",
    "date_of_birth": "date",
    "dob": "date",
    "ssn": "us_ssn",
    "email": "email",
}
for _pair in filter(None, envstr("VAULT_FIELD_TYPES", "").split(",")):
    _name, _, _type = _pair.strip().partition(":")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,63}", _name) or _type not in FIELD_TYPE_NAMES:
        raise ImproperlyConfigured(
            f"VAULT_FIELD_TYPES: give name:type pairs, types {', '.join(FIELD_TYPE_NAMES)}"
        )
    VAULT_FIELD_TYPES[_name] = _type
# Which operations this process serves: writer, reader, operator or all.
VAULT_FUNCTION_ROLE = envstr("VAULT_FUNCTION_ROLE", "all")
if VAULT_FUNCTION_ROLE not in ("writer", "reader", "operator", "all"):
    raise ImproperlyConfigured("VAULT_FUNCTION_ROLE must be writer, reader, operator or all")
# Writer and reader functions answer only the JSON API and the health checks, never a
# page: they skip WhiteNoise's scan of every static file at start-up (a cold start's
# cost) and, on every request, what only pages need: sessions, CSRF, sign-in, messages,
# the operator gates and the pages' Content-Security-Policy (JSON is never rendered;
# SecurityMiddleware still sends nosniff and HSTS, and the API answers no-store).
PAGE_ONLY_MIDDLEWARE = [
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "tokens.pages.middleware.IdleSignOutMiddleware",
    "tokens.pages.middleware.RoleLapseMiddleware",
    "tokens.pages.middleware.OperatorGateMiddleware",
]  # allauth's AccountMiddleware stays: allauth refuses to start without it.
if VAULT_FUNCTION_ROLE in ("writer", "reader"):
    MIDDLEWARE = [m for m in MIDDLEWARE if m not in PAGE_ONLY_MIDDLEWARE]
# Seconds to keep retrying a not-found token minted in the other region (replication lag).
VAULT_REPLICATION_WAIT = envfloat("VAULT_REPLICATION_WAIT", 2.0)
# --- secrets (vaultsite/secrets.py) ---------------------------------------------
# On Lambda: "token-vault/", and the secrets come from Secrets Manager (one read of
# each per cold start); locally and in tests: SECRET_KEY, API_KEY_PEPPER and
# AUDIT_HMAC_KEY from the environment. Each is versioned (manage.py rotate_secret):
# API keys are stored as HMAC(API_KEY_PEPPER, key) and audit records chained with
# HMAC(AUDIT_HMAC_KEY, ...), each marked with the id of the value that made it.
VAULT_SECRETS_PREFIX = envstr("VAULT_SECRETS_PREFIX", "")
_DEV_SECRETS = {
    "SECRET_KEY": "dev-only-insecure-secret-key",
    "API_KEY_PEPPER": "dev-only-api-key-pepper",
    "AUDIT_HMAC_KEY": "dev-only-audit-hmac-key",
}
_rings = vault_secrets.load(os.environ, AWS_REGION, AWS_ENDPOINT_URL, _DEV_SECRETS if DEBUG else {})
VAULT_KEYRINGS = vault_secrets.Keyrings(_rings, VAULT_SECRETS_PREFIX, AWS_REGION, AWS_ENDPOINT_URL)
SECRET_KEY = _rings["SECRET_KEY"].value
# Sessions and signed values made before a rotation still verify.
SECRET_KEY_FALLBACKS = _rings["SECRET_KEY"].older()
# The operator's database: on Lambda, its host here and its user and password in
# the secret <prefix>database; elsewhere DATABASE_URL (default: SQLite).
VAULT_DATABASE_HOST = envstr("VAULT_DATABASE_HOST", "")
if VAULT_SECRETS_PREFIX and VAULT_DATABASE_HOST:
    _database_url = vault_secrets.database_url(
        VAULT_SECRETS_PREFIX + "database", VAULT_DATABASE_HOST, AWS_REGION, AWS_ENDPOINT_URL
    )
else:
    _database_url = envstr("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
# Seconds a process remembers a verified API key; a revoked key works at most this long.
API_KEY_CACHE_SECONDS = envint("API_KEY_CACHE_SECONDS", 30)
if API_KEY_CACHE_SECONDS < 0:
    raise ImproperlyConfigured("API_KEY_CACHE_SECONDS must be 0 or more")
# Requests per minute one API client may make from one process before 429.
VAULT_API_RATE_LIMIT = envint("VAULT_API_RATE_LIMIT", 600)
# Searches per minute one API client (or operator) may make from one process:
# search answers "is this value in the vault?", so it is kept tight.
VAULT_SEARCH_RATE_LIMIT = envint("VAULT_SEARCH_RATE_LIMIT", 30)
# DynamoDB table of fingerprints and aliases (tokens/index.py), a global table on AWS.
VAULT_INDEX_TABLE = envstr("VAULT_INDEX_TABLE", "vault-index")
# DynamoDB table of honeytokens (tokens/honeytokens.py), a global table on AWS: keyed
# HMACs of decoy token ids (never the ids) and a row per use of a decoy, for alerting.
VAULT_DECOY_TABLE = envstr("VAULT_DECOY_TABLE", "vault-decoys")
# Seconds a process keeps the set of decoy HMACs before reading it again (a newly
# planted decoy raises alerts in every process within this long).
VAULT_DECOY_CACHE_SECONDS = envint("VAULT_DECOY_CACHE_SECONDS", 60)
if VAULT_DECOY_CACHE_SECONDS < 0:
    raise ImproperlyConfigured("VAULT_DECOY_CACHE_SECONDS must be 0 or more")
# Seconds one request may spend on all its AWS calls together (timeouts and retries
# shrink to what is left), then 503. Below API Gateway's 29 s.
VAULT_REQUEST_BUDGET = envfloat("VAULT_REQUEST_BUDGET", 8.0)
if not 0 < VAULT_REQUEST_BUDGET < 29:
    raise ImproperlyConfigured("VAULT_REQUEST_BUDGET must be between 0 and 29 seconds")
# AWS calls: attempts in all (retries only while the request's budget lasts) and timeouts.
AWS_MAX_ATTEMPTS = envint("AWS_MAX_ATTEMPTS", 3)
AWS_CONNECT_TIMEOUT = envint("AWS_CONNECT_TIMEOUT", 2)
AWS_READ_TIMEOUT = envint("AWS_READ_TIMEOUT", 5)

# --- monitoring ---------------------------------------------------------------
# Where operation metrics go: "emf" (stdout, for CloudWatch on Lambda) or "db".
METRICS_SINK = envstr("METRICS_SINK", "db")
ALERTS_SNS_TOPIC_ARN = envstr("ALERTS_SNS_TOPIC_ARN", "")

# --- email: operators' sign-in links, approvers' notices ----------------------------
# The console under DEBUG (make run prints the mail), SMTP otherwise: Amazon SES
# through its SMTP interface, or any relay, set by these variables.
EMAIL_BACKEND = envstr(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = envstr("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 587)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "token-vault@localhost")
# Where the operator pages are, for links in emails (e.g. https://vault.example.org).
VAULT_SITE_URL = envstr("VAULT_SITE_URL", "http://127.0.0.1:8000" if DEBUG else "")
# A sign-in link works once, for this many hours.
VAULT_SIGN_IN_LINK_HOURS = envint("VAULT_SIGN_IN_LINK_HOURS", 24)
PASSWORD_RESET_TIMEOUT = VAULT_SIGN_IN_LINK_HOURS * 3600
# Approvers are also told through this SNS topic, when set.
VAULT_APPROVALS_SNS_TOPIC_ARN = envstr("VAULT_APPROVALS_SNS_TOPIC_ARN", "")

# --- security headers -------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_SAMESITE = "Strict"
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- operator sign-in (django-allauth with MFA) ------------------------------------
# allauth's backend (username or email), refusing superusers: see tokens/backends.py.
AUTHENTICATION_BACKENDS = ["tokens.backends.OperatorBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "pages:dashboard"
ACCOUNT_ADAPTER = "tokens.pages.auth.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_FORMS = {"change_password": "tokens.pages.auth.ChangePasswordForm"}
# Failed sign-ins per login name and per IP, counted in the shared cache below.
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/300s/key"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = envstr("VAULT_TOTP_ISSUER", "Token vault")
MFA_RECOVERY_CODES_SHOW_ONCE = True
# Reloading the TOTP set-up page keeps the QR code (allauth makes a new secret per GET).
MFA_FORMS = {"activate_totp": "tokens.pages.auth.ActivateTOTPForm"}
# Sign-out after this many minutes without a request.
VAULT_SESSION_IDLE_MINUTES = envint("VAULT_SESSION_IDLE_MINUTES", 15)
SESSION_COOKIE_AGE = VAULT_SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# A reveal (and allauth's sensitive account pages) needs a sign-in or
# re-authentication at most this many seconds old.
VAULT_REVEAL_FRESH_AUTH = envint("VAULT_REVEAL_FRESH_AUTH", 300)
ACCOUNT_REAUTHENTICATION_TIMEOUT = VAULT_REVEAL_FRESH_AUTH
# The written reason a reveal needs, in characters.
VAULT_REVEAL_REASON_MIN = envint("VAULT_REVEAL_REASON_MIN", 15)
# Rate limits (allauth) live in a cache every process shares: the database.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "vault_cache"}}
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "tokens.pages.errors.csrf_failure"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
    }
}
