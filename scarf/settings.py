"""Settings, all from environment variables with safe defaults.

Without DATABASE_URL and REDIS_URL the product runs in *embedded mode*:
SQLite, an in-process cache, tasks executed in-process. The README lists every
variable.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_list(name: str, default: str = "") -> list[str]:
    """Items separated by commas or spaces (the TLS edge's Caddyfile reads
    DASHBOARD_HOSTS space-separated)."""
    return [item for item in re.split(r"[,\s]+", os.environ.get(name, default)) if item]


def _embedded_secret_key() -> str:
    """A random key kept in VAR_DIR, so embedded mode needs no configuration
    and sessions survive restarts. Production sets SECRET_KEY."""
    path = VAR_DIR / "secret-key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env_bool("DEBUG")
REDIS_URL = os.environ.get("REDIS_URL", "")
EMBEDDED = not REDIS_URL
# Secrets come from the environment only. Embedded mode (one process, `make run`)
# may keep a generated key in VAR_DIR; the production shape runs several
# processes and machines that must share one key, so it has to be given.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY and (DEBUG or EMBEDDED):
    SECRET_KEY = _embedded_secret_key()
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set (outside embedded mode and DEBUG)")
# Former keys, still accepted while SECRET_KEY is rotated (sessions, reset links, and
# the encrypted authenticator-app keys of apps/accounts/adapters.py).
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
# Hosts answered by Django (dashboard, API, admin); every other host goes to the gateway.
DASHBOARD_HOSTS = env_list("DASHBOARD_HOSTS") or ALLOWED_HOSTS
# Links in e-mails; by default where `make run` serves (its PORT).
SITE_URL = os.environ.get("SITE_URL", f"http://localhost:{os.environ.get('PORT', '8000')}")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "apps.accounts",
    "apps.packages",
    "apps.gateway",
    "apps.analytics",
    "apps.api",
    "apps.migration_checks",
    "apps.webhooks",
    "apps.outbox",
    "apps.publicstats",
    "apps.security",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.gitlab",
    "allauth.usersessions",
    "rest_framework",
    "drf_spectacular",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "scarf.csp.content_security_policy_middleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "scarf.slashes.AppendSlashKeepingMethod",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "apps.security.middleware.remember_request",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.accounts.middleware.current_organisation",
    "apps.accounts.middleware.two_factor_policy",
]

ROOT_URLCONF = "scarf.urls"
WSGI_APPLICATION = "scarf.wsgi.application"

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
                "apps.accounts.context_processors.organisations",
            ],
            # The dashboard is not an installed app: its template filters are named here.
            "libraries": {"dashboard": "apps.dashboard.templatetags.dashboard"},
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Several threads write in embedded mode: wait for the lock instead of failing.
    # IMMEDIATE: a transaction takes the write lock when it begins, so a writer
    # waits for another instead of failing at once when its read turns into a write.
    # WAL: the dashboard's reads never wait for the gateway's writes, and a
    # commit appends to the log; synchronous=FULL: each commit (one per batch
    # of downloads, README "Analytics") is on disk before its answers leave.
    # Connections are kept (DATABASE_CONN_MAX_AGE): closing the last one
    # checkpoints the log, which cost 9 ms a batch.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if EMBEDDED:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }

AUTH_USER_MODEL = "accounts.User"
# Argon2id for new and re-hashed passwords; the others only verify (and upgrade)
# hashes written before.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Sign-in throttling: after LOGIN_FAILURE_LIMIT wrong passwords for one account
# from one address, that pair is locked out for LOGIN_LOCKOUT_SECONDS.
LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_LOCKOUT_SECONDS = int(os.environ.get("LOGIN_LOCKOUT_SECONDS", "900"))

# ---- Accounts: two-factor, passkeys, GitHub/GitLab sign-in, sessions (django-allauth) ----
# The dashboard asks for the password (or second factor) again before a change that
# redirects users (a backend switch, a rule's target, a domain, a write token, roles)
# when the last one was more than REAUTH_MINUTES ago. The API is unaffected.
REAUTH_MINUTES = int(os.environ.get("REAUTH_MINUTES", "10"))
ACCOUNT_ADAPTER = "apps.accounts.adapters.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_REAUTHENTICATION_TIMEOUT = REAUTH_MINUTES * 60
# Asking again takes the password or a second factor; e-mailed codes are not
# served here (whoever holds the mailbox is not proven at the keyboard).
# Someone with neither, who came through GitHub or GitLab, confirms with it
# (apps.accounts.adapters).
ACCOUNT_REAUTHENTICATION_METHODS = ["password", "mfa"]
MFA_ADAPTER = "apps.accounts.adapters.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = os.environ.get("MFA_TOTP_ISSUER", "Package gateway")
# A code of the previous or next 30 seconds is accepted too (clocks drift); each once.
MFA_TOTP_TOLERANCE = 1
MFA_FORMS = {"activate_totp": "apps.accounts.forms.ActivateTOTPForm"}
SOCIALACCOUNT_ADAPTER = "apps.accounts.adapters.SocialAccountAdapter"
# Linking a forge account to an existing one is the user's choice (a confirmation
# page), never automatic on a matching address.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = False
SOCIALACCOUNT_QUERY_EMAIL = True
SOCIALACCOUNT_STORE_TOKENS = False
USERSESSIONS_TRACK_ACTIVITY = True


def _forge(client_id: str, secret: str, **extra) -> dict:
    """A provider's settings; without a client id it has no app, so no button."""
    apps = [{"client_id": client_id, "secret": secret}] if client_id else []
    return {"APPS": apps, **extra}


# GITHUB_URL: a GitHub Enterprise server (its API under /api/v3); GITLAB_URL: a
# self-managed GitLab.
GITHUB_URL = os.environ.get("GITHUB_URL", "https://github.com").rstrip("/")
GITLAB_URL = os.environ.get("GITLAB_URL", "https://gitlab.com").rstrip("/")
SOCIALACCOUNT_PROVIDERS = {
    "github": _forge(
        os.environ.get("GITHUB_CLIENT_ID", ""),
        os.environ.get("GITHUB_CLIENT_SECRET", ""),
        SCOPE=["read:user", "user:email"],
        # Given, even as github.com, allauth would ask GITHUB_URL/api/v3.
        **({"GITHUB_URL": GITHUB_URL} if os.environ.get("GITHUB_URL") else {}),
    ),
    "gitlab": _forge(
        os.environ.get("GITLAB_CLIENT_ID", ""),
        os.environ.get("GITLAB_CLIENT_SECRET", ""),
        SCOPE=["read_user"],
        GITLAB_URL=GITLAB_URL,
    ),
}
# The forges people sign in with: "Sign in with …" is a form whose answer
# redirects to the forge, which the policy's form-action must allow.
SIGN_IN_FORGES = [
    url
    for url, provider in ((GITHUB_URL, "github"), (GITLAB_URL, "gitlab"))
    if SOCIALACCOUNT_PROVIDERS[provider]["APPS"]
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# collectstatic writes here (the container image sets it); unset, files come from the finders.
STATIC_ROOT = os.environ.get("STATIC_ROOT") or None
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve straight from the finders when collectstatic has not run (embedded mode).
WHITENOISE_USE_FINDERS = True

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "noreply@localhost")
# Where django.core.mail.backends.filebased.EmailBackend writes each message.
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH") or str(VAR_DIR / "mail")

# Behind TLS (production), cookies are secure and browsers are told to stay on HTTPS.
HTTPS = env_bool("HTTPS")
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000")) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Scripts and styles from our origin only (no inline code, no eval), no framing,
# forms post back here or go on to a forge to sign in (scarf/csp.py).
_FORM_ACTION = " ".join(["'self'", *SIGN_IN_FORGES])
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    f"form-action {_FORM_ACTION}; frame-ancestors 'none'"
)
# Largest request body Django reads (the API's JSON included), in bytes.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("MAX_REQUEST_BODY", str(5 * 1024 * 1024)))

# The production server (apps/gateway/server.py): what one client may make a
# worker hold, and for how long (README, "Production shape").
SERVER_MAX_HEAD = int(os.environ.get("SERVER_MAX_HEAD", str(64 * 1024)))
SERVER_MAX_HEADERS = int(os.environ.get("SERVER_MAX_HEADERS", "100"))
SERVER_MAX_PIPELINED = int(os.environ.get("SERVER_MAX_PIPELINED", "100"))
SERVER_MAX_CONNECTIONS = int(os.environ.get("SERVER_MAX_CONNECTIONS", "10000"))
SERVER_WRITE_BUFFER = int(os.environ.get("SERVER_WRITE_BUFFER", str(256 * 1024)))
SERVER_HEAD_TIMEOUT = float(os.environ.get("SERVER_HEAD_TIMEOUT", "30"))
SERVER_BODY_TIMEOUT = float(os.environ.get("SERVER_BODY_TIMEOUT", "20"))
SERVER_BODY_MIN_RATE = float(os.environ.get("SERVER_BODY_MIN_RATE", "500"))
SERVER_WRITE_TIMEOUT = float(os.environ.get("SERVER_WRITE_TIMEOUT", "30"))
SERVER_KEEPALIVE_TIMEOUT = float(os.environ.get("SERVER_KEEPALIVE_TIMEOUT", "75"))
SERVER_SHUTDOWN_GRACE = float(os.environ.get("SERVER_SHUTDOWN_GRACE", "30"))

# The broker may be a Redis of its own (or any broker Celery speaks); default: REDIS_URL.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = EMBEDDED
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# LOG_FORMAT=json: one JSON object per line (scarf/logs.py); otherwise plain text.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "scarf.logs.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            **({"formatter": "json"} if os.environ.get("LOG_FORMAT") == "json" else {}),
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# Gateway
# Networks whose X-Forwarded-For / X-Forwarded-Host the gateway believes (comma-separated CIDRs).
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
# The TLS edge's on-demand question (apps/gateway/edge.py): when set, the ask
# endpoint answers only requests carrying it (?token=); unset, only requests made
# straight from loopback or a TRUSTED_PROXIES network.
TLS_ASK_TOKEN = os.environ.get("TLS_ASK_TOKEN", "")
# The port clients reach the TLS edge's HTTPS on, for the redirects of "HTTPS only" domains.
PUBLIC_HTTPS_PORT = int(os.environ.get("PUBLIC_HTTPS_PORT", "443"))
# Bearer token for GET /metrics (Prometheus); unset: only loopback clients, not proxied.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
# Outbound requests to registries and indexes (seconds, bytes).
UPSTREAM_CONNECT_TIMEOUT = float(os.environ.get("UPSTREAM_CONNECT_TIMEOUT", "5"))
UPSTREAM_READ_TIMEOUT = float(os.environ.get("UPSTREAM_READ_TIMEOUT", "30"))
UPSTREAM_POOL_SIZE = int(os.environ.get("UPSTREAM_POOL_SIZE", "20"))
# Index pages and packuments: fresh for UPSTREAM_CACHE_TTL, then served stale
# (only while the upstream fails) up to UPSTREAM_STALE_TTL.
UPSTREAM_CACHE_TTL = int(os.environ.get("UPSTREAM_CACHE_TTL", "300"))
UPSTREAM_STALE_TTL = int(os.environ.get("UPSTREAM_STALE_TTL", str(7 * 24 * 3600)))
UPSTREAM_MAX_DOCUMENT = int(os.environ.get("UPSTREAM_MAX_DOCUMENT", str(64 * 1024 * 1024)))
# Defaults for rules that name no backend; the deployment sets them.
PYTHON_DEFAULT_INDEX_URL = os.environ.get("PYTHON_DEFAULT_INDEX_URL", "")
NPM_DEFAULT_REGISTRY_URL = os.environ.get("NPM_DEFAULT_REGISTRY_URL", "")

# Tenants and custom domains
# Each organisation gets <slug>.<GATEWAY_BASE_DOMAIN>, verified by construction.
GATEWAY_BASE_DOMAIN = os.environ.get("GATEWAY_BASE_DOMAIN", "gateway.localhost").lower()
# A claimed domain is verified by a TXT record at _<DOMAIN_CHALLENGE_SERVICE>-challenge.<host>.
DOMAIN_CHALLENGE_SERVICE = os.environ.get("DOMAIN_CHALLENGE_SERVICE", "gateway")
# Name servers asked for that record ("ip" or "ip:port", comma-separated); empty: the system's.
DNS_RESOLVERS = env_list("DNS_RESOLVERS")
DNS_TIMEOUT = float(os.environ.get("DNS_TIMEOUT", "5"))
# The TLS edge's certificate storage (Caddy's `storage file_system` directory), read to
# show each domain's certificate; empty: not shown. The edge's public addresses: a
# verified domain without a certificate whose A/AAAA records name none of them is
# said not to point here.
CADDY_STORAGE = os.environ.get("CADDY_STORAGE", "")
EDGE_ADDRESSES = env_list("EDGE_ADDRESSES")
# How often (seconds) the beat re-checks domains still waiting for verification.
DOMAIN_VERIFY_INTERVAL = int(os.environ.get("DOMAIN_VERIFY_INTERVAL", "300"))
# An unverified claim older than this no longer blocks another organisation's claim.
DOMAIN_CLAIM_EXPIRY = int(os.environ.get("DOMAIN_CLAIM_EXPIRY", str(7 * 24 * 3600)))
CELERY_BEAT_SCHEDULE = {
    "verify-pending-domains": {
        "task": "apps.packages.tasks.verify_pending_domains",
        "schedule": DOMAIN_VERIFY_INTERVAL,
    },
}

# Backends of rules with alternates (apps/packages/health.py): seconds between
# health checks, a check's time-out, how many failed (good) checks in a row make
# a backend unhealthy (healthy again), and how many failed proxied requests or
# index fetches since the previous check make that check a failure on their own.
BACKEND_HEALTH_INTERVAL = float(os.environ.get("BACKEND_HEALTH_INTERVAL", "10"))
BACKEND_PROBE_TIMEOUT = float(os.environ.get("BACKEND_PROBE_TIMEOUT", "3"))
BACKEND_UNHEALTHY_AFTER = int(os.environ.get("BACKEND_UNHEALTHY_AFTER", "3"))
BACKEND_HEALTHY_AFTER = int(os.environ.get("BACKEND_HEALTHY_AFTER", "2"))
BACKEND_PASSIVE_FAILURES = int(os.environ.get("BACKEND_PASSIVE_FAILURES", "5"))
CELERY_BEAT_SCHEDULE["check-backend-health"] = {
    "task": "apps.packages.tasks.check_backend_health",
    "schedule": BACKEND_HEALTH_INTERVAL,
    "options": {"expires": BACKEND_HEALTH_INTERVAL},
}

# REST API
# Requests per API token (or signed-in user, or anonymous IP), e.g. "600/min".
API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "600/min")
API_PAGE_SIZE = int(os.environ.get("API_PAGE_SIZE", "50"))
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.api.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.api.auth.HasRole"],
    "DEFAULT_THROTTLE_CLASSES": ["apps.api.auth.PerTokenThrottle"],
    "DEFAULT_PAGINATION_CLASS": "apps.api.pagination.Pages",
    "PAGE_SIZE": API_PAGE_SIZE,
    "DEFAULT_FILTER_BACKENDS": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["apps.api.parsers.StrictJSONParser"],
    "EXCEPTION_HANDLER": "apps.api.errors.handle_exception",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Package gateway API",
    "DESCRIPTION": (
        "Manage an organisation's domains, packages and gateway rules. Authenticate with "
        "`Authorization: Bearer <token>`; every object belongs to the token's organisation."
    ),
    "VERSION": "1",
    # Swagger UI from our own static files (scripts/vendor.sh), so the docs work offline.
    "SWAGGER_UI_DIST": f"{STATIC_URL}vendor/swagger-ui",
    "SWAGGER_UI_FAVICON_HREF": f"{STATIC_URL}vendor/swagger-ui/favicon-32x32.png",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.api.schema.document_errors",
    ],
}

# ---- Analytics (apps/analytics; README "Analytics") ----
# The Redis holding the event stream; defaults to REDIS_URL.
EVENTS_REDIS_URL = os.environ.get("EVENTS_REDIS_URL", REDIS_URL)
# Seconds the gateway waits on that Redis before spooling events to VAR_DIR/spool.
EVENTS_REDIS_TIMEOUT = float(os.environ.get("EVENTS_REDIS_TIMEOUT", "0.5"))
# Offline geo data: an MMDB file for country (e.g. ip-location-db's
# geo-whois-asn-country) and for AS organisation (GeoLite2-ASN / DB-IP ASN Lite),
# or, for networks, ip-location-db's asn ranges (a directory with ipv4.csv and
# ipv6.csv). `make run` and the Docker image install the country database at
# VAR_DIR/geo/country.mmdb and the ranges at VAR_DIR/geo/asn (scripts/geo.sh);
# an ASN MMDB you put at VAR_DIR/geo/asn.mmdb is used instead of the ranges. Each is
# the default when it is there; an empty value turns it off.


def _installed_geo(name: str) -> str:
    path = VAR_DIR / "geo" / name
    return str(path) if path.exists() else ""


ANALYTICS_COUNTRY_MMDB = os.environ.get("ANALYTICS_COUNTRY_MMDB", _installed_geo("country.mmdb"))
ANALYTICS_ASN_MMDB = os.environ.get("ANALYTICS_ASN_MMDB", _installed_geo("asn.mmdb"))
ANALYTICS_ASN_RANGES = os.environ.get("ANALYTICS_ASN_RANGES", _installed_geo("asn"))
# Days raw events are kept, unless an organisation's analytics settings say otherwise.
ANALYTICS_RETENTION_DAYS = int(os.environ.get("ANALYTICS_RETENTION_DAYS", "395"))
# Ingestion: stream entries per batch (an entry holds 1 to 200 events, more when the
# gateway is busy), seconds per task run, seconds between runs, and how long (ms) a
# dead consumer's entries stay pending before another claims them.
ANALYTICS_BATCH_SIZE = int(os.environ.get("ANALYTICS_BATCH_SIZE", "100"))
ANALYTICS_INGEST_SECONDS = float(os.environ.get("ANALYTICS_INGEST_SECONDS", "5"))
ANALYTICS_INGEST_INTERVAL = float(os.environ.get("ANALYTICS_INGEST_INTERVAL", "1"))
ANALYTICS_CLAIM_IDLE_MS = int(os.environ.get("ANALYTICS_CLAIM_IDLE_MS", "60000"))
# Monthly partitions of the raw events table created ahead of time.
ANALYTICS_PARTITIONS_AHEAD = int(os.environ.get("ANALYTICS_PARTITIONS_AHEAD", "2"))
# Public stats (apps/publicstats): counts under this k read "< k" so no single
# user can be singled out; seconds browsers and CDNs may cache a badge.
PUBLIC_STATS_MIN_COUNT = max(1, int(os.environ.get("PUBLIC_STATS_MIN_COUNT", "10")))
PUBLIC_STATS_MAX_AGE = int(os.environ.get("PUBLIC_STATS_MAX_AGE", "600"))
CELERY_BEAT_SCHEDULE |= {
    "ingest-events": {
        "task": "apps.analytics.tasks.ingest_events",
        "schedule": ANALYTICS_INGEST_INTERVAL,
        "options": {"expires": ANALYTICS_INGEST_INTERVAL * 2},
    },
    "replay-event-spool": {"task": "apps.analytics.tasks.replay_spool", "schedule": 30.0},
    "create-event-partitions": {
        "task": "apps.analytics.tasks.create_event_partitions",
        "schedule": 6 * 3600.0,
    },
    "apply-analytics-retention": {
        "task": "apps.analytics.tasks.apply_retention",
        "schedule": 24 * 3600.0,
    },
    "summarise-analytics-days": {
        "task": "apps.analytics.tasks.summarise_days",
        "schedule": 600.0,
    },
}

# ---- Verified migrations (apps/migration_checks) ----
# A switch to another backend needs a clean migration check that finished at most
# this many seconds ago.
MIGRATION_CHECK_MAX_AGE = int(os.environ.get("MIGRATION_CHECK_MAX_AGE", str(24 * 3600)))
# Requests a check has in flight at once per backend, and the most items
# (tags, files, versions, paths) one check compares.
MIGRATION_CHECK_CONCURRENCY = int(os.environ.get("MIGRATION_CHECK_CONCURRENCY", "8"))
MIGRATION_CHECK_MAX_ITEMS = int(os.environ.get("MIGRATION_CHECK_MAX_ITEMS", "10000"))

# ---- Webhooks (apps/webhooks) ----
# Webhook URLs whose host resolves to loopback, private, link-local or other
# non-public addresses are refused unless this is on (tests, closed networks).
WEBHOOK_ALLOW_PRIVATE_URLS = env_bool("WEBHOOK_ALLOW_PRIVATE_URLS")
# Seconds to connect and to wait for an answer; attempts per delivery; the
# back-off before retry n is WEBHOOK_RETRY_BASE * 2**(n-1), at most WEBHOOK_RETRY_MAX.
WEBHOOK_TIMEOUT = float(os.environ.get("WEBHOOK_TIMEOUT", "10"))
WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("WEBHOOK_MAX_ATTEMPTS", "8"))
WEBHOOK_RETRY_BASE = float(os.environ.get("WEBHOOK_RETRY_BASE", "30"))
WEBHOOK_RETRY_MAX = float(os.environ.get("WEBHOOK_RETRY_MAX", "1800"))
CELERY_BEAT_SCHEDULE |= {
    "send-overdue-webhook-deliveries": {
        "task": "apps.webhooks.tasks.send_overdue_deliveries",
        "schedule": 60.0,
    },
    "send-daily-download-summaries": {
        "task": "apps.webhooks.tasks.send_daily_summaries",
        "schedule": 3600.0,
    },
}

# ---- Queued tasks (apps/outbox) ----
# A task is written in the transaction of the change it is for and sent to the broker
# when that commits. One the broker refused is sent again by the relay, first after
# OUTBOX_RELAY_AFTER seconds, then with a doubling wait of at most OUTBOX_RETRY_MAX;
# the relay runs every OUTBOX_RELAY_INTERVAL seconds.
OUTBOX_RELAY_AFTER = float(os.environ.get("OUTBOX_RELAY_AFTER", "10"))
OUTBOX_RETRY_MAX = float(os.environ.get("OUTBOX_RETRY_MAX", "600"))
OUTBOX_RELAY_INTERVAL = float(os.environ.get("OUTBOX_RELAY_INTERVAL", "10"))
CELERY_BEAT_SCHEDULE["relay-queued-tasks"] = {
    "task": "apps.outbox.tasks.relay_queued_tasks",
    "schedule": OUTBOX_RELAY_INTERVAL,
    "options": {"expires": OUTBOX_RELAY_INTERVAL},
}
