"""Loudou settings: one module, every knob read from an environment variable.

Defaults suit development and the test suite (SQLite, jobs in-process, plain HTTP).
Production sets at least SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, REDIS_URL and HTTPS=true;
`manage.py check --deploy --fail-level WARNING` then passes (see docs/operations.md, "Production").
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def envbool(name: str, default: bool) -> bool:
    """A boolean variable; anything but a clear yes/no is a configuration error."""
    raw = env.str(name, default=str(default)).strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def envint(name: str, default: int) -> int:
    raw = env.str(name, default=str(default)).strip()
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None


# Used only when SECRET_KEY is unset; the deploy check refuses it (config.checks).
DEV_SECRET_KEY = "django-insecure-loudou-development-key-do-not-use-in-production"  # noqa: S105

DEBUG = envbool("DEBUG", False)
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "reps.apps.LoudouAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "template_partials",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "reps",
    "funnel",
    "activity_log",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "reps.middleware.SessionLifetimeMiddleware",
    "reps.second_factor.SecondFactorMiddleware",
    "reps.middleware.UserPreferencesMiddleware",
    "funnel.health.middleware.AlertBadgeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    # Innermost, so its 400 still passes the headers above: refuses NUL bytes before any view reads them.
    "config.middleware.RejectNulMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "funnel.health.context_processors.alerts",
                "activity_log.bell.count.bell",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = envint("CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Embedded mode: wait for a writer instead of failing with "database is locked" (QUALITY R16),
    # and take the write lock at BEGIN so two writers never deadlock on a lock upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
# A statement waits at most this long for a row lock; the write is then retried once and, failing that,
# answered 409 ("someone else is changing this right now"), never left hanging (funnel.opportunities.services).
DB_LOCK_TIMEOUT_MS = envint("DB_LOCK_TIMEOUT_MS", 5000)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # JIT compilation costs ~200 ms on the dashboard's aggregate queries and saves nothing at this size.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "options", f"-c jit=off -c lock_timeout={DB_LOCK_TIMEOUT_MS}"
    )
    # A database host that does not answer fails the request in seconds (a 503 page), not after minutes.
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", envint("DATABASE_CONNECT_TIMEOUT", 5))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and background jobs --------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Without REDIS_URL, tasks run in the calling process (the `make run` demo).
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A hung Redis must not hang a web request: kombu's defaults wait forever (QUALITY R2).
# A task taken by a worker that dies unacknowledged goes back to the queue after the visibility timeout
# (acks_late): keep it short, so a killed worker's scan is redone within minutes, not an hour. Every task
# is safe to run twice, and the time limits below end any run well before the timeout, so no task is
# handed to a second worker while the first still runs it (QUALITY R4, R6).
CELERY_VISIBILITY_TIMEOUT = envint("CELERY_VISIBILITY_TIMEOUT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_VISIBILITY_TIMEOUT * 3 // 4
CELERY_TASK_TIME_LIMIT = CELERY_VISIBILITY_TIMEOUT * 9 // 10
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_timeout": 2,
    "socket_connect_timeout": 2,
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "max_retries": 1,
}
CELERY_TIMEZONE = "UTC"
# Background jobs started by a request (config.jobs): the test suite runs them at once, in the caller's thread.
JOBS_INLINE = envbool("JOBS_INLINE", False)

# --- Authentication, passwords, sessions ----------------------------------------
AUTH_USER_MODEL = "reps.User"
AUTHENTICATION_BACKENDS = ["reps.backends.ModelBackendWithTeam"]
LOGIN_URL = "reps:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "reps:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Idle timeout: the cookie's age, renewed by activity at most once every SESSION_RENEW_SECONDS (so the idle
# limit is met to within that), not by a write on every request. Absolute lifetime: reps.middleware.
SESSION_COOKIE_AGE = envint("SESSION_IDLE_SECONDS", 30 * 60)
SESSION_RENEW_SECONDS = envint("SESSION_RENEW_SECONDS", 60)
SESSION_ABSOLUTE_LIFETIME = timedelta(seconds=envint("SESSION_ABSOLUTE_SECONDS", 12 * 60 * 60))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Login throttling (reps.services.login_is_throttled): failures counted in a sliding window.
LOGIN_FAILURE_WINDOW = timedelta(seconds=envint("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60))
LOGIN_FAILURES_PER_ACCOUNT = envint("LOGIN_FAILURES_PER_ACCOUNT", 10)
LOGIN_FAILURES_PER_IP = envint("LOGIN_FAILURES_PER_IP", 50)
# Second factor (reps.second_factor): wrong codes per user in the same window before codes are refused.
SECOND_FACTOR_FAILURES = envint("SECOND_FACTOR_FAILURES", 5)
OTP_TOTP_ISSUER = "Loudou"
# How many reverse proxies in front of the app append to X-Forwarded-For (0: use REMOTE_ADDR).
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0)

# Exports (funnel.transfer.views): rows per file and files per user per hour (QUALITY S24).
EXPORT_MAX_ROWS = envint("EXPORT_MAX_ROWS", 100_000)
EXPORTS_PER_HOUR = envint("EXPORTS_PER_HOUR", 10)
# A finished export's file is kept this long for its creator to download (funnel.transfer.exports).
EXPORT_KEEP_HOURS = envint("EXPORT_KEEP_HOURS", 24)
# Request bodies: form fields are held in memory up to this size (a larger form post is refused), and an
# uploaded file past FILE_UPLOAD_MAX_MEMORY_SIZE is spooled to a temporary file. The CSV import refuses a
# file over its own 5 MB limit before reading it (funnel.transfer.views).
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("DATA_UPLOAD_MAX_MEMORY_SIZE", 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = envint("FILE_UPLOAD_MAX_MEMORY_SIZE", 1024 * 1024)

# A daily log submitted later than this many hours after the rep's local midnight counts as late.
DAILY_LOG_GRACE_HOURS = envint("DAILY_LOG_GRACE_HOURS", 2)

# --- HTTPS and security headers ----------------------------------------------------
HTTPS = envbool("HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
if HTTPS:
    # The __Host- prefix pins the cookie to this host and path, over HTTPS only.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", HTTPS)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", True)
if envbool("BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)

# --- Languages, time, formats ---------------------------------------------------------
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
# Off: ids and versions in attributes and query strings must never read "1,246". Amounts are
# grouped explicitly by the `money` filter (force_grouping).
USE_THOUSAND_SEPARATOR = False
FORMAT_MODULE_PATH = ["config.formats"]
LANGUAGE_COOKIE_SECURE = HTTPS
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
# Amounts are shown in one currency for the whole organisation.
CURRENCY_SYMBOL = env.str("CURRENCY_SYMBOL", default="¥")

# --- Static files -------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Hashed, compressed files need `collectstatic` first, so only production turns them on.
_static_backend = (
    "whitenoise.storage.CompressedManifestStaticFilesStorage"
    if envbool("STATIC_MANIFEST", False)
    else "django.contrib.staticfiles.storage.StaticFilesStorage"
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": _static_backend},
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- E-mail ---------------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Loudou <noreply@localhost>")
# The address e-mails link back to (no request to take it from in a background job).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Logging ----------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"escape_newlines": {"()": "config.logging.EscapeNewlinesFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["escape_newlines"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
