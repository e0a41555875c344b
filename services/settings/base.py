"""Settings shared by every environment, read strictly from the environment.

With nothing set the service runs on one machine with embedded parts: a SQLite
file, kombu's filesystem broker, console SMS and console email. Every variable
of the external contract (shared/api-contract.md §2) is read here and nowhere
else.
"""

from datetime import timedelta
from pathlib import Path

import environ
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

DEVELOPMENT_SECRET_KEY = "development-only-secret-key-never-use-in-production"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://localhost:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[PUBLIC_BASE_URL])

INSTALLED_APPS = [
    # The clinic's dashboard first (its templates override the admin's), then the admin
    # with the clinic's site as admin.site (dashboard/sites.py).
    "dashboard",
    "dashboard.admin_config.ClinicAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_standardized_errors",
    "phonenumber_field",
    "simple_history",
    "axes",
    "common",
    "audit",
    "accounts",
    "patients",
    "triage",
    "notifications",
    "referrals",
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
    "simple_history.middleware.HistoryRequestMiddleware",
    "audit.middleware.AuditContextMiddleware",
    # Last, as django-axes requires: turns a lockout into the response of AXES_LOCKOUT_CALLABLE.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "services.urls"
WSGI_APPLICATION = "services.wsgi.application"
ASGI_APPLICATION = "services.asgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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

# --- Database -----------------------------------------------------------------
SQLITE_PATH = VAR_DIR / "db.sqlite3"
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{SQLITE_PATH}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) share the file: wait for locks and
    # take the write lock at BEGIN so that no transaction fails half-way.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # The list indexes carry extra columns (INCLUDE) for PostgreSQL's index-only counts; SQLite builds
    # them without those columns, which is all it needs, and Django warns about it at every start.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    database_options = DATABASES["default"].setdefault("OPTIONS", {})
    database_options["connect_timeout"] = env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    # Pages run short queries: compiling a count over a clinic's rows (JIT) cost 15-90 ms more than it saved.
    database_options["options"] = f"{database_options.get('options', '')} -c jit=off".strip()

# --- Cache ------------------------------------------------------------------
# Throttling counts live here: with several web processes, point CACHE_URL at a
# shared cache (e.g. redis://host:6379/1), or each process counts on its own.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# --- Auth -------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out username+IP before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Reverse proxies in front of the service whose X-Forwarded-For entries are believed
# (0: none, the client is REMOTE_ADDR). Throttling, lockout and the audit trail agree.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)
# Lockout after repeated failed logins (API token and admin), per username and IP together.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "common.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# Admin sessions (the API uses short-lived tokens instead) end after a working day.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE_SECONDS", default=8 * 3600)

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- API --------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "common.pagination.DefaultPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_standardized_errors.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "common.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_THROTTLE_CLASSES": [
        "common.throttling.AnonRateThrottle",
        "common.throttling.UserRateThrottle",
    ],
    # Per IP (anonymous) or per user; the auth scopes are per IP and stricter.
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="600/min"),
        "user": env.str("THROTTLE_USER", default="6000/min"),
        "auth": env.str("THROTTLE_AUTH", default="30/min"),
        "auth_refresh": env.str("THROTTLE_AUTH_REFRESH", default="120/min"),
        "register": env.str("THROTTLE_REGISTER", default="30/hour"),
    },
    "NUM_PROXIES": NUM_PROXIES,
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=1)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    # The token view announces the login (user_logged_in), which updates last_login.
    "UPDATE_LAST_LOGIN": False,
    "SIGNING_KEY": SECRET_KEY,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Foot-drop triage service",
    "DESCRIPTION": "Triage of foot drop, red-flag escalation and referral tracking.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        # One name per choice set used by several serializers.
        "ReferralStatusEnum": "referrals.state.ReferralStatus.choices",
        "SpecialtyEnum": "referrals.models.Specialty.choices",
        "UrgencyEnum": "triage.models.Urgency.choices",
        "ValidationErrorEnum": "drf_standardized_errors.openapi_serializers.ValidationErrorEnum.choices",
        "ClientErrorEnum": "drf_standardized_errors.openapi_serializers.ClientErrorEnum.choices",
        "ServerErrorEnum": "drf_standardized_errors.openapi_serializers.ServerErrorEnum.choices",
        "ErrorCode401Enum": "drf_standardized_errors.openapi_serializers.ErrorCode401Enum.choices",
        "ErrorCode403Enum": "drf_standardized_errors.openapi_serializers.ErrorCode403Enum.choices",
        "ErrorCode404Enum": "drf_standardized_errors.openapi_serializers.ErrorCode404Enum.choices",
        "ErrorCode405Enum": "drf_standardized_errors.openapi_serializers.ErrorCode405Enum.choices",
        "ErrorCode406Enum": "drf_standardized_errors.openapi_serializers.ErrorCode406Enum.choices",
        "ErrorCode415Enum": "drf_standardized_errors.openapi_serializers.ErrorCode415Enum.choices",
        "ErrorCode429Enum": "drf_standardized_errors.openapi_serializers.ErrorCode429Enum.choices",
        "ErrorCode500Enum": "drf_standardized_errors.openapi_serializers.ErrorCode500Enum.choices",
    },
    "POSTPROCESSING_HOOKS": ["drf_standardized_errors.openapi_hooks.postprocess_schema_enums"],
}

DRF_STANDARDIZED_ERRORS = {
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True,
    "EXCEPTION_HANDLER_CLASS": "common.api.ServiceExceptionHandler",
    "EXCEPTION_FORMATTER_CLASS": "common.api.ProblemDetailsFormatter",
    # The schema documents errors as they are sent: codes and fields are open strings
    # (application errors carry their own codes, unknown fields are named), not the
    # package's per-field enums, which our responses would contradict.
    "ERROR_SCHEMAS": {
        code: "common.api.ProblemDetailsSerializer"
        for code in ("400", "401", "403", "404", "405", "406", "415", "429", "500")
    },
}

# --- Celery -----------------------------------------------------------------
# Without a broker server the embedded default is kombu's filesystem transport:
# web, worker and beat on one machine exchange messages through a folder.
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=env.str("REDIS_URL", default="filesystem://"))
CELERY_BROKER_IS_EMBEDDED = CELERY_BROKER_URL.startswith("filesystem://")
if CELERY_BROKER_IS_EMBEDDED:
    for folder in ("queue", "processed", "control"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    # kombu's filesystem transport, writing each message atomically (services/embedded_broker.py).
    CELERY_BROKER_TRANSPORT = "services.embedded_broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),  # kombu's default is ./control, in the working tree
        "store_processed": False,
        "polling_interval": 0.1,
    }
    # Its consumer takes from the queues in the order of CELERY_TASK_QUEUES (services/embedded_broker.py).
else:
    # The visibility timeout must outlast the longest task (plus its retries'
    # countdowns), or Redis hands a still-running task to a second worker.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        "socket_timeout": 5,
        "socket_connect_timeout": 5,
        # A worker takes from the queues in the order of CELERY_TASK_QUEUES, the red flags' first.
        "queue_order_strategy": "priority",
    }
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
# A task is acknowledged only once it has run, so a worker that dies mid-task
# leaves it to be redelivered; our tasks are idempotent, which makes that safe.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
# A dead broker must never hang a request: publishing gives up quickly and the
# periodic sweeps pick the work up again from the database.
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
# On a lost broker connection, stop the late-acknowledged tasks in flight: the
# broker redelivers them anyway, so running them on would run them twice.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Keep database connections across tasks (services/celery_app.py applies
# CONN_MAX_AGE and health checks instead); Celery still recycles them every so many tasks.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=500)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# A red flag never waits behind a backlog of routine work: its path has queues of
# its own, which every worker takes from before the default one, in this order
# (the transports' queue order above): the pages (an emergency's triage, which
# pages tier 1; the send tasks; the escalation clock, the outbox sweep and the
# red flags' pending sweep), then the result of an emergency already paged,
# then the rest. Which triage goes where: triage.actions.triage_queue.
RED_FLAG_QUEUE = "red_flags"
RED_FLAG_RESULT_QUEUE = "red_flag_results"
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = tuple(Queue(name, Exchange(name), routing_key=name)
                           for name in (RED_FLAG_QUEUE, RED_FLAG_RESULT_QUEUE, CELERY_TASK_DEFAULT_QUEUE))
CELERY_TASK_ROUTES = {
    "notifications.tasks.*": {"queue": RED_FLAG_QUEUE},
    "triage.tasks.requeue_pending_emergencies": {"queue": RED_FLAG_QUEUE},
    "triage.tasks.write_triage_result": {"queue": RED_FLAG_RESULT_QUEUE},
}

# --- Triage -------------------------------------------------------------------
# An assessment still pending this long after submission is re-enqueued.
TRIAGE_PENDING_GRACE_SECONDS = env.int("TRIAGE_PENDING_GRACE_SECONDS", default=30)
TRIAGE_SWEEP_INTERVAL_SECONDS = env.float("TRIAGE_SWEEP_INTERVAL_SECONDS", default=15.0)
IDEMPOTENCY_IN_FLIGHT_SECONDS = env.int("IDEMPOTENCY_IN_FLIGHT_SECONDS", default=60)
DEFAULT_CLINIC_SLUG = env.str("DEFAULT_CLINIC_SLUG", default="main")

# --- Notifications ----------------------------------------------------------
SMS_BACKEND = env.str("SMS_BACKEND", default="console")
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
TWILIO_API_BASE_URL = env.str("TWILIO_API_BASE_URL", default="https://api.twilio.com").rstrip("/")
ESCALATION_ACK_TIMEOUT_SECONDS = env.float("ESCALATION_ACK_TIMEOUT_SECONDS", default=300)
# The escalation clock lives in the database; this sweep advances what is due.
ESCALATION_SWEEP_INTERVAL_SECONDS = env.float("ESCALATION_SWEEP_INTERVAL_SECONDS", default=1.0)
ESCALATION_ACK_LINK_MAX_AGE_SECONDS = env.int("ESCALATION_ACK_LINK_MAX_AGE_SECONDS", default=24 * 3600)
# Besides the clinic's staff users: who hears of exhausted escalations and failed pages.
ESCALATION_ALERT_EMAILS = env.list("ESCALATION_ALERT_EMAILS", default=[])
TWILIO_CONNECT_TIMEOUT_SECONDS = env.float("TWILIO_CONNECT_TIMEOUT_SECONDS", default=3.05)
TWILIO_READ_TIMEOUT_SECONDS = env.float("TWILIO_READ_TIMEOUT_SECONDS", default=10.0)
# Delivery: capped attempts with Celery's exponential backoff and full jitter
# (factor * 2**n seconds, at most the maximum), then `failed` and staff alerted.
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=6)
NOTIFICATION_RETRY_BACKOFF_SECONDS = env.int("NOTIFICATION_RETRY_BACKOFF_SECONDS", default=2)
NOTIFICATION_RETRY_BACKOFF_MAX_SECONDS = env.int("NOTIFICATION_RETRY_BACKOFF_MAX_SECONDS", default=60)
# The outbox sweep re-dispatches a notification queued this long past its due
# time (its task was lost) or claimed this long ago (its worker died mid-send).
# The send task's hard time limit stays below the lease, so no live worker is
# still sending when its notification is handed to another.
NOTIFICATION_SWEEP_INTERVAL_SECONDS = env.float("NOTIFICATION_SWEEP_INTERVAL_SECONDS", default=5.0)
NOTIFICATION_QUEUED_GRACE_SECONDS = env.int("NOTIFICATION_QUEUED_GRACE_SECONDS", default=10)
NOTIFICATION_SENDING_LEASE_SECONDS = env.int("NOTIFICATION_SENDING_LEASE_SECONDS", default=45)

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="triage@localhost")

# --- Logging ----------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "common.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
    },
}

# --- Referrals ----------------------------------------------------------------
# SLA clocks per priority (docs/referrals.md), both counted from the decision to
# refer at that priority: by when a partner must accept, and by when the patient
# must be seen. A duration is "<n>h" (hours), "<n>d" (calendar days), "<n>w"
# (weeks) or "<n>wd" (working days: the clock stops on Saturdays and Sundays).
REFERRAL_SLA = {
    "emergency": {
        "accept": env.str("REFERRAL_SLA_EMERGENCY_ACCEPT", default="1h"),
        "seen": env.str("REFERRAL_SLA_EMERGENCY_SEEN", default="24h"),  # the same day, as a rolling 24 hours
    },
    "urgent": {
        "accept": env.str("REFERRAL_SLA_URGENT_ACCEPT", default="1wd"),
        "seen": env.str("REFERRAL_SLA_URGENT_SEEN", default="7d"),
    },
    "routine": {
        "accept": env.str("REFERRAL_SLA_ROUTINE_ACCEPT", default="5d"),
        "seen": env.str("REFERRAL_SLA_ROUTINE_SEEN", default="6w"),
    },
}
# The overdue sweep marks breached clocks and emails the clinic's staff once per breach.
REFERRAL_OVERDUE_SWEEP_INTERVAL_SECONDS = env.float("REFERRAL_OVERDUE_SWEEP_INTERVAL_SECONDS", default=60.0)
REFERRAL_OVERDUE_EXTRA_EMAILS = env.list("REFERRAL_OVERDUE_EXTRA_EMAILS", default=[])
# Partner webhook secrets are stored encrypted with Fernet keys derived (HKDF) from
# these materials: the first encrypts, all decrypt. Unset, SECRET_KEY is used, and
# changing SECRET_KEY then makes the stored secrets unreadable: set it in production.
FIELD_ENCRYPTION_KEY = env.list("FIELD_ENCRYPTION_KEY", default=[SECRET_KEY])
# After a rotation the previous secret still verifies inbound webhooks this long.
PARTNER_SECRET_ROTATION_GRACE_SECONDS = env.int("PARTNER_SECRET_ROTATION_GRACE_SECONDS", default=24 * 3600)
# Outbound partner webhooks: capped attempts, exponential backoff with jitter
# (base * 2**(n-1), at most the maximum, which stays below the broker's
# visibility timeout); 4xx replies other than 408/429 are not retried.
PARTNER_WEBHOOK_TIMEOUT_SECONDS = env.float("PARTNER_WEBHOOK_TIMEOUT_SECONDS", default=10.0)
PARTNER_WEBHOOK_MAX_ATTEMPTS = env.int("PARTNER_WEBHOOK_MAX_ATTEMPTS", default=8)
PARTNER_WEBHOOK_BACKOFF_SECONDS = env.float("PARTNER_WEBHOOK_BACKOFF_SECONDS", default=10.0)
PARTNER_WEBHOOK_BACKOFF_MAX_SECONDS = env.float("PARTNER_WEBHOOK_BACKOFF_MAX_SECONDS", default=900.0)
# The delivery sweep re-enqueues a delivery due this long ago (its task was lost)
# and frees one claimed this long after its attempt's timeout (its worker died).
PARTNER_WEBHOOK_SWEEP_INTERVAL_SECONDS = env.float("PARTNER_WEBHOOK_SWEEP_INTERVAL_SECONDS", default=30.0)
PARTNER_WEBHOOK_GRACE_SECONDS = env.int("PARTNER_WEBHOOK_GRACE_SECONDS", default=60)
# Canonical base of our own FHIR code systems (red flags, likely origin) and partner identifiers.
REFERRAL_FHIR_SYSTEM_BASE = env.str("REFERRAL_FHIR_SYSTEM_BASE", default=f"{PUBLIC_BASE_URL}/fhir").rstrip("/")

# --- Periodic work ------------------------------------------------------------
# Every sweep finds work whose task was lost (broker down at commit, worker
# killed); the task names are each app's `tasks.py`.
CELERY_BEAT_SCHEDULE = {
    "requeue-pending-assessments": {
        "task": "triage.tasks.requeue_pending_assessments",
        "schedule": TRIAGE_SWEEP_INTERVAL_SECONDS,
        "options": {"expires": TRIAGE_SWEEP_INTERVAL_SECONDS},
    },
    "requeue-pending-emergencies": {
        "task": "triage.tasks.requeue_pending_emergencies",
        "schedule": TRIAGE_SWEEP_INTERVAL_SECONDS,
        "options": {"expires": TRIAGE_SWEEP_INTERVAL_SECONDS},
    },
    # notifications:
    "advance-due-escalations": {
        "task": "notifications.tasks.advance_due_escalations",
        "schedule": ESCALATION_SWEEP_INTERVAL_SECONDS,
        "options": {"expires": ESCALATION_SWEEP_INTERVAL_SECONDS},
    },
    "sweep-notification-outbox": {
        "task": "notifications.tasks.sweep_notification_outbox",
        "schedule": NOTIFICATION_SWEEP_INTERVAL_SECONDS,
        "options": {"expires": NOTIFICATION_SWEEP_INTERVAL_SECONDS},
    },
    # referrals:
    "mark-overdue-referrals": {
        "task": "referrals.tasks.mark_overdue_referrals",
        "schedule": REFERRAL_OVERDUE_SWEEP_INTERVAL_SECONDS,
        "options": {"expires": REFERRAL_OVERDUE_SWEEP_INTERVAL_SECONDS},
    },
    "requeue-partner-webhook-deliveries": {
        "task": "referrals.tasks.requeue_partner_webhook_deliveries",
        "schedule": PARTNER_WEBHOOK_SWEEP_INTERVAL_SECONDS,
        "options": {"expires": PARTNER_WEBHOOK_SWEEP_INTERVAL_SECONDS},
    },
}

# --- Benchmarks ---------------------------------------------------------------
# Routes the floor endpoint of bench/intake (common/bench.py); off everywhere else.
BENCH_ENDPOINTS = env.bool("BENCH_ENDPOINTS", default=False)
