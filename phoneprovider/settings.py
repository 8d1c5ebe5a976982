"""Settings, read once from the environment (django-environ). Every variable is in .env.example.

With nothing set, the service runs on embedded defaults under ``var/``: SQLite, kombu's
filesystem broker, and development keys generated on first use.
"""

import secrets
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", parse_comments=True)

VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=True)


def _development_key(name: str, make) -> str:
    """A key from the environment, or (in development only) one generated once into var/."""
    value = env.str(name, default="")
    if value:
        return value
    if not DEBUG:
        raise ImproperlyConfigured(f"{name} must be set when DEBUG is off.")
    path = VAR_DIR / f"{name.lower()}.txt"
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _development_key("SECRET_KEY", lambda: secrets.token_urlsafe(50))


def _fernet_keys(value: str) -> list[str]:
    """FIELD_ENCRYPTION_KEY: one or more Fernet keys, comma-separated, newest first. Values are
    written with the first and read with any (see phoneprovider.crypto)."""
    keys = [k.strip() for k in value.split(",") if k.strip()]
    for number, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEY: key {number} is not a Fernet key ({exc})."
            ) from None
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY holds no key.")
    return keys


FIELD_ENCRYPTION_KEY = _fernet_keys(
    _development_key("FIELD_ENCRYPTION_KEY", lambda: Fernet.generate_key().decode())
)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "encrypted_model_fields",
    "phoneprovider",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "phoneprovider.middleware.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "phoneprovider.urls"
WSGI_APPLICATION = "phoneprovider.wsgi.application"

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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The worker and the web share one SQLite file: WAL lets readers work beside a writer,
    # IMMEDIATE transactions avoid "database is locked" on upgrade from read to write.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file, not memory, so a worker process started by the tests sees the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    # The charts' covering index (PhoneMessage.Meta) is a plain created_at index here: fine.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "phoneprovider.staticfiles.StaticFilesStorage"
    },
}

LOGIN_URL = "dashboard:login"
LOGIN_REDIRECT_URL = "dashboard:provider"
LOGOUT_REDIRECT_URL = "dashboard:login"

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Celery -------------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
BROKER_DIR = Path(env.str("BROKER_DIR", default=str(VAR_DIR / "broker")))
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 3}
else:
    # kombu's filesystem transport carries tasks between processes with no server.
    for folder in ("queue", "processed", "control"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
# A web request does not wait long for a broker that is down: the message is already a committed
# outbox row, and the sweeper enqueues it once the broker is back.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_TASK_IGNORE_RESULT = True  # outcomes live in the database, not in a result backend
CELERY_TASK_ACKS_LATE = True
# A task whose worker child died goes back on the queue. The filesystem transport cannot requeue
# a rejected message (it stays unacknowledged and stalls the worker), so there the sweeper alone
# brings such work back; it does so on Redis too, the requeue is only quicker.
CELERY_TASK_REJECT_ON_WORKER_LOST = bool(REDIS_URL)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("CELERY_WORKER_MAX_TASKS_PER_CHILD", default=1000)
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env.int(
    "CELERY_WORKER_MAX_MEMORY_PER_CHILD", default=512_000
)  # KiB
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Caches (api.cache of handlers, rate-limit counters) ----------------------------------------
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "phoneprovider.redis_cache.ReusingRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Product ------------------------------------------------------------------------------------
OUTBOUND_ALLOWED_NETWORKS = env.list("OUTBOUND_ALLOWED_NETWORKS", default=[])
ACTIONS_EXECUTION_TIMEOUT = env.float("ACTIONS_EXECUTION_TIMEOUT", default=20.0)
ACTIONS_MEMORY_LIMIT_MB = env.int("ACTIONS_MEMORY_LIMIT_MB", default=128)
ACTIONS_MAX_FETCHES = env.int("ACTIONS_MAX_FETCHES", default=50)
ACTIONS_MAX_RESPONSE_BYTES = env.int("ACTIONS_MAX_RESPONSE_BYTES", default=1024 * 1024)
ACTIONS_MAX_LOG_BYTES = env.int("ACTIONS_MAX_LOG_BYTES", default=64 * 1024)
# Where Deno keeps the npm packages Actions declare: shared by every worker on the host.
DENO_DIR = Path(env.str("DENO_DIR", default=str(VAR_DIR / "deno")))
# Empty: Twilio's own hosts (api.twilio.com, verify.twilio.com, a connection's region host).
# Set, it takes every Twilio request, whatever the product or region (tests: a loopback fake).
TWILIO_API_BASE_URL = env.str("TWILIO_API_BASE_URL", default="")
TWILIO_TIMEOUT = env.float("TWILIO_TIMEOUT", default=15.0)
# The worker's backstop around one task; the sandbox enforces the execution timeout first. Room
# for a handler's full run, a Twilio failover send and the database writes around them. The soft
# limit ends the attempt as a transient failure; the hard one replaces the child process.
CELERY_TASK_SOFT_TIME_LIMIT = ACTIONS_EXECUTION_TIMEOUT + TWILIO_TIMEOUT + 15
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 15
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="")  # for Twilio status callbacks
TENANT_NAME = env.str("TENANT_NAME", default="phoneprovider")
TENANT_FRIENDLY_NAME = env.str("TENANT_FRIENDLY_NAME", default="My Company")
MESSAGE_CLAIM_SECONDS = env.int("MESSAGE_CLAIM_SECONDS", default=120)
MESSAGE_MAX_ATTEMPTS = env.int("MESSAGE_MAX_ATTEMPTS", default=6)
# Messages one delivery task claims and sends side by side (services/delivery.py); a full batch
# wakes another worker for the next one.
DELIVERY_BATCH_SIZE = env.int("DELIVERY_BATCH_SIZE", default=32)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Request lines name URLs, and handler URLs may carry credentials in their query.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

MESSAGE_CODE_TTL_SECONDS = env.int("MESSAGE_CODE_TTL_SECONDS", default=600)
# How long a process may use its copy of the configuration without asking the database; a change
# through phoneprovider is seen at once (phoneprovider/config_cache.py). 0 turns copies off.
CONFIG_CACHE_SECONDS = env.float("CONFIG_CACHE_SECONDS", default=5.0)
# One-time codes shown as ••••56 on the message page, in the admin and in delivery logs;
# false only for a test instance where people read codes on purpose.
MASK_CODES = env.bool("MASK_CODES", default=True)
MESSAGE_SWEEP_GRACE_SECONDS = env.int("MESSAGE_SWEEP_GRACE_SECONDS", default=30)
MESSAGE_SWEEP_INTERVAL = env.float("MESSAGE_SWEEP_INTERVAL", default=15.0)
TENANT_SUPPORT_EMAIL = env.str("TENANT_SUPPORT_EMAIL", default="")
TENANT_SUPPORT_URL = env.str("TENANT_SUPPORT_URL", default="")
TENANT_HOME_URL = env.str("TENANT_HOME_URL", default="")
TENANT_LOGO_URL = env.str("TENANT_LOGO_URL", default="")
# Retention (phoneprovider/services/retention.py): days kept; 0 keeps forever.
MESSAGE_RETENTION_DAYS = env.int("MESSAGE_RETENTION_DAYS", default=30)
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)
RETENTION_PURGE_INTERVAL = env.float("RETENTION_PURGE_INTERVAL", default=3600.0)
RETENTION_BATCH_SIZE = env.int("RETENTION_BATCH_SIZE", default=1000)
# One run stops after this long; the next run carries on where it stopped.
RETENTION_PURGE_MAX_SECONDS = env.float("RETENTION_PURGE_MAX_SECONDS", default=300.0)
CELERY_BEAT_SCHEDULE = {
    "sweep-messages": {"task": "phoneprovider.sweep_messages", "schedule": MESSAGE_SWEEP_INTERVAL},
    "purge-expired": {"task": "phoneprovider.purge_expired", "schedule": RETENTION_PURGE_INTERVAL},
}
# Where the abuse-limit counters live: a Redis URL (by default REDIS_URL), or "database" for the
# LimitWindow table (the default without Redis, and the fallback while Redis is unreachable).
LIMITS_STORAGE_URL = env.str("LIMITS_STORAGE_URL", default=REDIS_URL) or "database"
API_RATE_LIMIT_PER_MINUTE = env.int("API_RATE_LIMIT_PER_MINUTE", default=600)
