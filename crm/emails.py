"""Email from templates, where translators find its text: crm/email/<name>_subject.txt, <name>.txt and <name>.html."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation


def send_templated(name: str, context: dict, *, to: str, language: str) -> None:
    """Send one email, plain text with an HTML alternative, rendered in the recipient's language.

    Sending errors (smtplib.SMTPException, OSError) reach the caller, who decides what a failure means.
    """
    context = {"school": settings.SCHOOL_NAME, **context}
    with translation.override(language):
        subject = render_to_string(f"crm/email/{name}_subject.txt", context)
        text = render_to_string(f"crm/email/{name}.txt", context)
        html = render_to_string(f"crm/email/{name}.html", context)
    message = EmailMultiAlternatives(" ".join(subject.split()), text, to=[to])  # a header holds one line
    message.attach_alternative(html, "text/html")
    message.send()
