"""Email from templates, where translators find its text: crm/email/<name>_subject.txt, <name>.txt and <name>.html.

Rendered at once (in the sender's request, language and data), sent by a Celery task after the transaction
commits: a mail server that is slow, down or refusing never delays or undoes what the user did. The task tries
again with growing pauses on SMTP and network errors, and logs the message it finally gives up on.
"""

import logging
import smtplib

from celery import Task, shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

logger = logging.getLogger(__name__)


class EmailTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        logger.error(
            "Email %r to %s was not sent after %d tries: %s",
            kwargs.get("subject"),
            kwargs.get("to"),
            self.request.retries + 1,
            exc,
        )


@shared_task(
    base=EmailTask,
    name="crm.emails.deliver",
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,  # 30 s, 60 s, 120 s … (with jitter), at most retry_backoff_max apart
    retry_backoff_max=30 * 60,
    max_retries=settings.EMAIL_MAX_RETRIES,
)
def deliver(*, subject: str, text: str, html: str | None, to: str) -> None:
    """Send one rendered message (plain text, with an HTML alternative when given)."""
    message = EmailMultiAlternatives(subject, text, to=[to])
    if html:
        message.attach_alternative(html, "text/html")
    message.send()


def enqueue(*, subject: str, text: str, html: str | None, to: str) -> None:
    """Send a rendered message once the current transaction (if any) has committed."""
    subject = " ".join(subject.split())  # a header holds one line
    transaction.on_commit(lambda: deliver.delay(subject=subject, text=text, html=html, to=to), robust=True)


def send_templated(name: str, context: dict, *, to: str, language: str) -> None:
    """Render one email in the recipient's language and queue it (see the module's note on failures)."""
    context = {"school": settings.SCHOOL_NAME, **context}
    with translation.override(language):
        subject = render_to_string(f"crm/email/{name}_subject.txt", context)
        text = render_to_string(f"crm/email/{name}.txt", context)
        html = render_to_string(f"crm/email/{name}.html", context)
    enqueue(subject=subject, text=text, html=html, to=to)
