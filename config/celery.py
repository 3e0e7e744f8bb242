"""The Celery app (`config.celery.app`): its settings are Django's CELERY_* settings, its tasks crm.tasks.

With no CELERY_BROKER_URL, config.settings turns on task_always_eager: every task runs inline, in the process
that enqueued it, so the embedded setup (`make run`) needs nothing started.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
