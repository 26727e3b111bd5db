"""Settings shared by every environment. Defaults run with nothing installed (SQLite, filesystem broker)."""

from __future__ import annotations

from datetime import timedelta

import dj_database_url

from .env import BASE_DIR, DATA_DIR, env_bool, env_float, env_int, env_list, env_str

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "arbiter-insecure-development-key-change-me")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "labeling",
    "labeling.exports",
    "rounds",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "labeling.api.middleware.RequestSizeLimitMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'arbiter.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several processes (gunicorn workers, a Celery worker) share the file. WAL lets readers run beside the one
    # writer; IMMEDIATE makes every transaction.atomic() take the write lock when it begins, so two writers
    # queue on the busy timeout instead of one failing with "database is locked" when a read lock cannot be
    # upgraded (a DEFERRED transaction cannot wait for that). `timeout` (seconds) is sqlite3's busy timeout.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": env_int("ARBITER_SQLITE_TIMEOUT_SECONDS", 30),
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Access: passwords, login lockout, API tokens and throttles ---------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("ARBITER_PASSWORD_MIN_LENGTH", 12)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked-out username/address before any password is checked.
    "labeling.login_lockout.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Lock a username for AXES_COOLOFF_MINUTES after AXES_FAILURE_LIMIT wrong passwords from one address.
AXES_FAILURE_LIMIT = env_int("ARBITER_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("ARBITER_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# The address axes counts by: the proxy's X-Forwarded-For only when ARBITER_BEHIND_PROXY is set.
AXES_IPWARE_PROXY_COUNT = 1 if env_bool("ARBITER_BEHIND_PROXY", False) else None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if env_bool("ARBITER_BEHIND_PROXY", False) else ["REMOTE_ADDR"]
)
# API tokens (django-rest-knox): stored as SHA-512 digests, shown once, revocable, expiring.
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env_int("ARBITER_TOKEN_TTL_DAYS", 30)),
    "AUTO_REFRESH": False,  # no write on the labeling hot path
    "AUTH_HEADER_PREFIX": "Token",
}
# How long a web process trusts an API token it has checked (the labeling hot path then reads nothing for it).
# A token revoked or expired, or a user deactivated, elsewhere stops working within this window; revoking
# or deactivating through this process takes effect at once. 0 checks every request against the database.
ARBITER_TOKEN_CACHE_SECONDS = env_int("ARBITER_TOKEN_CACHE_SECONDS", 5)
# DRF throttles: far above real labeling (a labeler makes < 2 requests/s, the labeling bench ~4/s per token).
API_THROTTLE_ANON = env_str("ARBITER_THROTTLE_ANON", "60/min")
API_THROTTLE_USER = env_str("ARBITER_THROTTLE_USER", "1200/min")
# Request bodies (imports) above this are refused with a JSON 413 before they are read.
ARBITER_MAX_REQUEST_BYTES = env_int("ARBITER_MAX_UPLOAD_MB", 64) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = ARBITER_MAX_REQUEST_BYTES
# --- end of access settings -------------------------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

ARTIFACT_DIR = env_str("ARBITER_ARTIFACT_DIR", str(DATA_DIR / "artifacts"))
EXPORT_DIR = env_str("ARBITER_EXPORT_DIR", str(DATA_DIR / "exports"))
MODEL_DIR = env_str("ARBITER_MODEL_DIR", str(DATA_DIR / "models"))

REST_FRAMEWORK = {
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"anon": API_THROTTLE_ANON, "user": API_THROTTLE_USER},
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "labeling.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "labeling.api.schema.ArbiterAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "labeling.api.errors.json_exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Arbiter API",
    "DESCRIPTION": "Human-feedback labeling and RLHF data platform.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"ChoiceEnum": "labeling.models.Choice", "FlagReasonEnum": "labeling.models.FlagReason"},
}

# Celery: an embedded filesystem broker by default so nothing needs installing; Redis in production.
_BROKER_DIR = DATA_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("in", "processed", "control"):
        (_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "in"),
        "data_folder_out": str(_BROKER_DIR / "in"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "store_processed": False,
        "control_folder": str(_BROKER_DIR / "control"),
    }
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", "") or None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Reliability (README, "Jobs, workers and the embedded database"):
# - acks_late: a task's message is acknowledged when the task ends, not when it starts, so a worker that dies
#   mid-task does not lose it. reject_on_worker_lost: a pool process killed mid-task (OOM, SIGKILL) puts its
#   message back at once instead of acknowledging it as failed. Redelivery is therefore possible, and every
#   task claims its row first (a fresh heartbeat of another run refuses the claim), so running twice is safe.
# - The Redis visibility timeout is how long an unacknowledged message waits before Redis hands it to another
#   worker. It must outlast the longest task (PPO runs for hours), or a live task gets a twin; recovering dead
#   work does not wait for it: the sweeper (beat) re-queues work whose heartbeat is stale within minutes.
# - A worker reconnects to the broker forever (startup included) instead of exiting after 100 tries; the web
#   side publishes with a short retry so an unreachable broker becomes a 503 within about a second.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_CONNECTION_TIMEOUT = 4
CELERY_BROKER_HEARTBEAT = 30
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.3, "interval_max": 0.5}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("ARBITER_VISIBILITY_TIMEOUT_SECONDS", 6 * 3600),
        "socket_connect_timeout": 5,
        "retry_on_timeout": True,
    }
# Queue names come from the environment so isolated workers (tests) also route the tasks their tasks enqueue.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "default")
CELERY_TASK_ROUTES = {"rounds.tasks.gpu_*": {"queue": env_str("ARBITER_GPU_QUEUE", "gpu")}}
_SWEEP_SECONDS = float(env_int("ARBITER_SWEEP_SECONDS", 60))
CELERY_BEAT_SCHEDULE = {
    "expire-stale-leases": {"task": "labeling.expire_stale_leases", "schedule": 60.0},
    "purge-expired-tokens": {"task": "labeling.purge_expired_tokens", "schedule": 3600.0},
    # Work whose heartbeat went stale (its worker died) is re-queued or marked failed; safe if two beats run.
    "sweep-stale-exports": {"task": "exports.sweep", "schedule": _SWEEP_SECONDS},
    "sweep-stale-rounds": {"task": "rounds.sweep", "schedule": _SWEEP_SECONDS},
}

ARBITER = {
    # How many open leases one labeler may hold at once.
    "MAX_OPEN_LEASES": env_int("ARBITER_MAX_OPEN_LEASES", 3),
    # Training rounds: how often a labeling round checks its comparisons target, and after how long without
    # progress a phase's task counts as lost (another task may then take the phase over).
    "ROUND_LABELING_POLL_SECONDS": env_int("ARBITER_ROUND_LABELING_POLL_SECONDS", 10),
    "ROUND_STALE_SECONDS": env_int("ARBITER_ROUND_STALE_SECONDS", 900),
    # A running export writes a heartbeat with its progress (every few thousand judgments); one silent for this
    # long lost its worker and is restarted by the sweeper.
    "EXPORT_STALE_SECONDS": env_int("ARBITER_EXPORT_STALE_SECONDS", 300),
    # How many times the sweeper re-queues one job whose worker died before marking it failed (retry by hand).
    "SWEEP_MAX_REQUEUES": env_int("ARBITER_SWEEP_MAX_REQUEUES", 2),
    # Expired API tokens stay listed (as expired) this many days, then the hourly purge deletes them.
    "EXPIRED_TOKEN_KEEP_DAYS": env_int("ARBITER_EXPIRED_TOKEN_KEEP_DAYS", 7),
}

# The ML phases run as `accelerate launch` child processes: reward training and PPO on this many local
# processes (one per GPU), or as an accelerate config file describes (multi-GPU, multi-node, FSDP).
# A round's train_processes / accelerate_config settings override both.
ARBITER_TRAIN_PROCESSES = env_int("ARBITER_TRAIN_PROCESSES", 1)
ARBITER_ACCELERATE_CONFIG: str | None = env_str("ARBITER_ACCELERATE_CONFIG", "") or None
# Accelerator memory of one training process in GiB; a round whose estimate exceeds it is refused before
# launch. Unset: no check.
ARBITER_GPU_MEMORY_GB = env_float("ARBITER_GPU_MEMORY_GB", None)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("ARBITER_LOG_LEVEL", "WARNING")},
}
