"""Settings for the training-school CRM, read from the environment (see .env.example)."""

import datetime
from decimal import Decimal
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.management.utils import get_random_secret_key
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"  # runtime data of the embedded setup: SQLite, uploads, secret key

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _local_secret_key() -> str:
    """A per-checkout random key for development, so no secret ever lives in the repository."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(get_random_secret_key())
    return path.read_text().strip()


# ------------------------------------------------------------------------------
# Core
# ------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default=None) or (_local_secret_key() if DEBUG else None)
if not SECRET_KEY:
    raise environ.ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "jazzmin",  # must precede django.contrib.admin to theme it
    "crm.apps.CRMAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "guardian",
    "simple_history",
    "import_export",
    "js_lib_dropzone",  # Dropzone's files for the enrollment page, served like ours (no CDN)
    "chartjs",  # Chart.js for the dashboard (django-chartjs ships it), served like ours (no CDN)
    "health_check",
    "csp",
    "axes",  # login lockouts, counted in the database: shared by every worker and host
    "django_ratelimit",  # the public pages' request limits (crm.ratelimit); its checks vet the cache they count in
    "django_celery_beat",  # the schedules of the periodic jobs, in the database, edited in the admin
    "crm",
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
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    "crm.middleware.PermissionsPolicyMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as axes asks: turns a lockout into its page
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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm.context_processors.school",
            ],
        },
    },
]

# ------------------------------------------------------------------------------
# Database: SQLite in the project folder unless DATABASE_URL names another
# ------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DJANGO_CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several people at once on the embedded database: a transaction takes the write lock when it starts
    # (IMMEDIATE), so two writers queue for up to `timeout` seconds instead of one failing with "database is
    # locked" when it upgrades its read lock; WAL lets readers go on while one writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        transaction_mode="IMMEDIATE",
        timeout=20,
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    )
    # Tests use a file too (not shared memory, whose table locks no timeout waits for), as `make run` does.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Many small queries at once, not one big one: a parallel plan's workers took a few milliseconds to start for
    # a page's 1,000-row count (a salesperson's calls to make, 200,000 customers), and cores from the requests
    # beside it. DJANGO_PG_PARALLEL_WORKERS raises it for a server given to long reports; empty leaves the server's
    # own setting (behind a connection pooler that refuses startup options).
    workers = env.str("DJANGO_PG_PARALLEL_WORKERS", default="0")
    if workers:
        options = DATABASES["default"].setdefault("OPTIONS", {})
        given = options.get("options", "")  # a DATABASE_URL's own ?options= come first
        options["options"] = f"{given} -c max_parallel_workers_per_gather={int(workers)}".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ------------------------------------------------------------------------------
# Authentication
# ------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out account or address before checking
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "/"
# A session ends after this many minutes without a request (each request starts the count again).
SESSION_COOKIE_AGE = env.int("CRM_SESSION_IDLE_MINUTES", default=120) * 60
SESSION_SAVE_EVERY_REQUEST = True

# Brute force: after CRM_LOGIN_FAILURE_LIMIT wrong passwords for one account, or from one address, that account
# or address may not log in (admin and portal alike) for CRM_LOGIN_LOCKOUT_MINUTES. A success clears the count.
AXES_FAILURE_LIMIT = env.int("CRM_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("CRM_LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "crm.ratelimit.client_ip"  # the same trusted-proxy rule as the public pages' limits
AXES_LOCKOUT_CALLABLE = "crm.views.lockout.locked_out"
AXES_VERBOSE = False
AXES_ENABLE_ADMIN = False  # school admins clear lockouts from the user list (crm.admin.users), in their language

# ------------------------------------------------------------------------------
# Internationalization
# ------------------------------------------------------------------------------
LANGUAGE_CODE = env("DJANGO_LANGUAGE_CODE", default="en")
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["config.formats"]  # number grouping in Chinese as CLDR has it (crm.money_format)
TIME_ZONE = env("DJANGO_TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# ------------------------------------------------------------------------------
# Static and uploaded files
# ------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "config.static_storage.StaticStorage"  # hashed, compressed, served by whitenoise
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Uploads (ID documents, homework, import files) live outside any public URL; views check access before serving.
# In a folder of this host, or (several app servers) in a private S3-compatible bucket when CRM_S3_BUCKET is set.
PRIVATE_MEDIA_ROOT = env.path("CRM_PRIVATE_MEDIA_ROOT", default=VAR_DIR / "private")
PRIVATE_S3 = (
    {
        "bucket_name": env("CRM_S3_BUCKET"),
        "endpoint_url": env("CRM_S3_ENDPOINT_URL", default=None),  # unset: Amazon S3 itself
        "region_name": env("CRM_S3_REGION", default=None),
        "access_key": env("CRM_S3_ACCESS_KEY_ID", default=None),  # unset: boto3's own chain (instance role …)
        "secret_key": env("CRM_S3_SECRET_ACCESS_KEY", default=None),
        "addressing_style": env("CRM_S3_ADDRESSING_STYLE", default="path"),  # what MinIO and most others expect
    }
    if env("CRM_S3_BUCKET", default="")
    else None
)

# ------------------------------------------------------------------------------
# Email: console locally, SMTP in production (DJANGO_EMAIL_URL=smtp+tls://user:pass@host:587)
# ------------------------------------------------------------------------------
_email = env.email_url("DJANGO_EMAIL_URL", default="consolemail://")
vars().update(_email)
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="crm@school.example")

# ------------------------------------------------------------------------------
# Caches and sessions: local memory by default, Redis when several hosts share the load
# ------------------------------------------------------------------------------
CACHES = {"default": env.cache("DJANGO_CACHE_URL", default="locmemcache://")}
if "redis" in CACHES["default"]["BACKEND"].lower():
    # A cache all workers share holds the sessions too (read from Redis, kept in the database so a Redis
    # restart logs nobody out). A per-process cache cannot, so sessions stay in the database alone.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# ------------------------------------------------------------------------------
# Jobs: Celery workers over Redis in production; inline (eager) when no broker is set
# ------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL  # `make run` starts no worker: tasks run where they are sent
CELERY_TASK_EAGER_PROPAGATES = False  # inline as on a worker: a failed task is logged, not raised at the sender
CELERY_TASK_ACKS_LATE = True  # a worker that dies mid-task leaves the message for another
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# How often and how patiently an email is tried again when the mail server refuses or cannot be reached.
EMAIL_MAX_RETRIES = env.int("CRM_EMAIL_MAX_RETRIES", default=6)
# A lead file of more rows is read and imported by the worker, the page showing its progress meanwhile.
CRM_IMPORT_BACKGROUND_ROWS = env.int("CRM_IMPORT_BACKGROUND_ROWS", default=5000)
# A worker on an import says it is alive every fifth of this; silent this long, the import is marked failed.
CRM_IMPORT_STALE_SECONDS = env.int("CRM_IMPORT_STALE_SECONDS", default=300)

# ------------------------------------------------------------------------------
# Security (production hardening; `check --deploy` is clean with DJANGO_DEBUG=false)
# ------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"  # related-object popups open windows (jazzmin related_modal_active off), not frames
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]  # load balancers probe over plain HTTP
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

# Content-Security-Policy on every page: scripts only from our own static files, or inline with this
# response's nonce. jazzmin's templates carry four small inline scripts (the colour mode, the changelist's
# filter lengths, the asterisks of two password forms), allowed by their hashes; the deployed walk checks every
# inline script of every page against this list, so an upgrade that changes one fails a test, not a page.
JAZZMIN_INLINE_SCRIPTS = [
    "'sha256-nLEB6J7sxmSsTqwuB/NEyb2atpyjTdtHdfLxmsXvCP8='",
    "'sha256-F7GVayJMLy0KHikNUhjbBcBE0ax/V4knxuE9lJsuA6A='",
    "'sha256-OQlLsGYyiAVVwdHnkEraaS+8yfFm7rTeYMfelN7RwuE='",
    "'sha256-DT/ci/z/ofx36DBKYq8ZBDQ2sgAnvO+SmuKGfcZ95UU='",
]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE, *JAZZMIN_INLINE_SCRIPTS],
        "style-src": [SELF, "'unsafe-inline'"],  # style attributes in Django's and jazzmin's templates
        "img-src": [SELF, "data:"],  # AdminLTE draws some icons as data: SVGs
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Browser features no page of the CRM uses, switched off for every page (and anything injected into one).
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="WARNING")},
}

# ------------------------------------------------------------------------------
# The CRM itself
# ------------------------------------------------------------------------------
# The school's own name: the public pages, the portal, emails and the admin's brand carry it.
SCHOOL_NAME = env("CRM_SCHOOL_NAME", default="") or _("Bright Future Training School")
SCHOOL_LOGO = env("CRM_SCHOOL_LOGO", default="crm/logo.svg")  # a static path
PHONE_DEFAULT_REGION = env("CRM_PHONE_DEFAULT_REGION", default="CN")

# The lead pool (公海): a lead whose consultant has neither recorded a follow-up nor changed it for this many days
# goes back to the pool (manage.py return_to_pool, nightly); a salesperson claims at most this many a day; the
# consultant a lead came back from cannot claim it again for this many days.
POOL_IDLE_DAYS = env.int("CRM_POOL_IDLE_DAYS", default=15)
POOL_CLAIMS_PER_DAY = env.int("CRM_POOL_CLAIMS_PER_DAY", default=20)
POOL_RECLAIM_DAYS = env.int("CRM_POOL_RECLAIM_DAYS", default=7)

# ------------------------------------------------------------------------------
# Third-party: guardian, simple-history, import-export, jazzmin
# ------------------------------------------------------------------------------
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row; public pages never use object perms
GUARDIAN_RAISE_403 = True

SIMPLE_HISTORY_REVERT_DISABLED = False
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

IMPORT_EXPORT_SKIP_ADMIN_LOG = True
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "import"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export"

JAZZMIN_SETTINGS = {
    "site_title": SCHOOL_NAME,
    "site_header": SCHOOL_NAME,
    "site_brand": SCHOOL_NAME,
    "site_logo": SCHOOL_LOGO,
    "login_logo": SCHOOL_LOGO,
    "site_logo_classes": "",
    "welcome_sign": _("Welcome. Please sign in."),
    "copyright": SCHOOL_NAME,
    "search_model": None,  # crm/admin/topbar.py draws the one search for every member of staff
    "user_avatar": None,
    "topmenu_links": [{"name": _("Dashboard"), "url": "admin:index"}],
    "custom_links": {
        "crm": [
            {
                "name": _("Lesson calendar"),
                "url": "admin:crm_courserecord_calendar",
                "icon": "fas fa-calendar-alt",
                "permissions": ["crm.view_courserecord"],
            }
        ]
    },
    "show_sidebar": True,
    "navigation_expanded": True,
    "order_with_respect_to": [
        "crm.customer",
        "crm.poolcustomer",
        "crm.followup",
        "crm.enrollment",
        "crm.payment",
        "crm.classgrade",
        "crm.courserecord",
        "crm.studyrecord",
        "crm.student",
        "crm.course",
        "crm.branch",
        "crm.contracttemplate",
        "crm.tag",
        "crm.personaldataaccess",
        "auth",
    ],
    "icons": {
        "auth": "fas fa-users-cog",
        "auth.user": "fas fa-user",
        "auth.Group": "fas fa-users",
        "crm.branch": "fas fa-building",
        "crm.course": "fas fa-book",
        "crm.contracttemplate": "fas fa-file-signature",
        "crm.classgrade": "fas fa-chalkboard",
        "crm.tag": "fas fa-tag",
        "crm.customer": "fas fa-address-book",
        "crm.poolcustomer": "fas fa-water",
        "crm.followup": "fas fa-phone",
        "crm.enrollment": "fas fa-user-check",
        "crm.enrollmentdocument": "fas fa-id-card",
        "crm.payment": "fas fa-yen-sign",
        "crm.personaldataaccess": "fas fa-user-shield",
        "crm.student": "fas fa-user-graduate",
        "crm.courserecord": "fas fa-calendar-day",
        "crm.studyrecord": "fas fa-clipboard-check",
    },
    "default_icon_parents": "fas fa-folder",
    "default_icon_children": "fas fa-circle",
    "related_modal_active": False,
    "use_google_fonts_cdn": False,  # schools run offline too: no CDN
    "custom_css": "crm/admin.css",
    "show_ui_builder": False,
    "changeform_format": "horizontal_tabs",
    "language_chooser": True,
}
JAZZMIN_UI_TWEAKS = {"theme": "default", "navbar": "navbar-white navbar-light", "sidebar": "sidebar-dark-primary"}

# Enrollment links and uploads
# The address the CRM is reached at (e.g. https://crm.school.example); links in emails start with it.
# Empty: the address the member of staff is using (the morning digest, sent by no one: http://127.0.0.1:8000).
PUBLIC_BASE_URL = env("CRM_PUBLIC_BASE_URL", default="")
ENROLLMENT_LINK_MAX_AGE_DAYS = env.int("CRM_ENROLLMENT_LINK_MAX_AGE_DAYS", default=14)
DOCUMENT_MAX_BYTES = env.int("CRM_DOCUMENT_MAX_BYTES", default=2 * 1024 * 1024)
DOCUMENT_MAX_COUNT = 2
HOMEWORK_MAX_BYTES = env.int("CRM_HOMEWORK_MAX_BYTES", default=10 * 1024 * 1024)
# Public pages: at most this many requests per IP and minute (per page kind); then 429.
PUBLIC_RATE_LIMIT_PER_MINUTE = env.int("CRM_PUBLIC_RATE_LIMIT_PER_MINUTE", default=60)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
USE_X_FORWARDED_FOR = env.bool("CRM_USE_X_FORWARDED_FOR", default=False)
# django-ratelimit counts in the default cache, per address as crm.ratelimit.client_ip finds it (an IPv6 visitor's
# /64 counts as one address, its default). Two of its cache checks are answered here: Django's own RedisCache is
# not on its list (W001, jsocol/django-ratelimit#283) though it counts with Redis's atomic INCR; local memory
# (E003) counts per process: exact for `make run`, per worker under gunicorn, hence Redis in production (README).
RATELIMIT_IP_META_KEY = "crm.ratelimit.client_ip"
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache":
    SILENCED_SYSTEM_CHECKS.append("django_ratelimit.E003")

# Money: discounts, refunds, lessons consumed (crm.services.money, crm.ledger)
# A discount of more than this percentage of the course's price needs a sales manager's approval.
DISCOUNT_APPROVAL_PERCENT = env.int("CRM_DISCOUNT_APPROVAL_PERCENT", default=10)
# Kept back from a refund's suggested amount (paid − revenue recognized − this fee).
REFUND_FEE = Decimal(env("CRM_REFUND_FEE", default="0.00"))
# Whether a lesson the student missed still uses one of the lessons they bought.
ABSENCE_USES_LESSON = env.bool("CRM_ABSENCE_USES_LESSON", default=False)
CURRENCY_SYMBOL = env("CRM_CURRENCY_SYMBOL", default="¥")
# Money figures grouped in thousands with a comma in Chinese too (Django's default groups by ten thousand, unmarked).
FORMAT_MODULE_PATH = ["config.formats"]
JAZZMIN_SETTINGS["custom_links"]["crm"].append(
    {
        "name": _("Finance report"),
        "url": "admin:crm_finance_report",
        "icon": "fas fa-chart-pie",
        "permissions": ["crm.view_finance_report"],
    }
)
JAZZMIN_SETTINGS["icons"].update(
    {
        "crm.installment": "fas fa-calendar-alt",
        "crm.refund": "fas fa-undo-alt",
        "crm.balancedue": "fas fa-file-invoice-dollar",
    }
)
