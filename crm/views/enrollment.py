"""The student's enrollment page, reached by the signed link a salesperson sends (no login).

Works without JavaScript (one multipart form: data, files, agreement); with it, Dropzone uploads each file
to `enrollment_document_upload` first. Every rule is enforced by crm.services.enrollment, not by the page.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm import links
from crm.forms import StudentDataForm
from crm.models import Enrollment
from crm.phones import format_phone
from crm.ratelimit import rate_limited
from crm.services import enrollment as enrollments


def _enrollment(token: str) -> Enrollment:
    """The enrollment the link names, with what its pages show (LinkError if the link cannot be used)."""
    linked = Enrollment.objects.select_related(
        "customer", "consultant", "class_grade__contract_template", "class_grade__course", "class_grade__branch"
    )
    return links.enrollment_for_token(token, linked)


def _link_error(request, error: links.LinkError):
    return render(
        request,
        "crm/public/link_invalid.html",
        {"message": error.message},
        status=410 if error.gone else 404,
    )


def _initial(enrollment: Enrollment) -> dict:
    customer = enrollment.customer
    return {
        "name": customer.name,
        "phone": format_phone(customer.phone),
        "email": customer.email,
        "id_type": enrollment.id_type,
        "id_number": enrollment.id_number,
        "birthday": enrollment.birthday,
        "address": enrollment.address,
        "emergency_contact": enrollment.emergency_contact,
        "emergency_phone": enrollment.emergency_phone,
    }


def _page(request, enrollment, token, form, *, upload_errors=(), document_errors=(), status=200):
    shown = enrollment.contract_text if not enrollments.is_open(enrollment) else enrollments.contract_text(enrollment)
    if enrollments.is_open(enrollment) and not form.is_bound:
        form.initial["contract_digest"] = enrollments.contract_digest(enrollment)
    context = {
        "enrollment": enrollment,
        "class_grade": enrollment.class_grade,
        "course": enrollment.class_grade.course,
        "contract": shown,
        "form": form,
        "documents": list(enrollment.documents.all()),
        "max_documents": settings.DOCUMENT_MAX_COUNT,
        "max_size": filesizeformat(settings.DOCUMENT_MAX_BYTES),
        "max_size_mb": settings.DOCUMENT_MAX_BYTES / 1024 / 1024,
        "too_many": enrollments.TOO_MANY_DOCUMENTS % {"count": settings.DOCUMENT_MAX_COUNT},
        "upload_errors": list(upload_errors),
        "document_errors": list(document_errors),
        "token": token,
        "is_open": enrollments.is_open(enrollment),
    }
    return render(request, "crm/public/enrollment_form.html", context, status=status)


@rate_limited("enrollment")
@require_http_methods(["GET", "POST"])
def enrollment_form(request, token):
    try:
        enrollment = _enrollment(token)
    except links.LinkError as error:
        return _link_error(request, error)
    if request.method == "GET":
        return _page(request, enrollment, token, StudentDataForm(initial=_initial(enrollment)))

    here = reverse("enrollment_form", args=[token])
    try:
        if not enrollments.is_open(enrollment):
            raise ValidationError(enrollments.NOT_OPEN, code="not_open")
        if "remove" in request.POST:
            enrollments.document_remove(enrollment=enrollment, document_id=request.POST["remove"])
            return redirect(here)
        upload_errors = []
        files = request.FILES.getlist("documents")
        if files:
            try:
                enrollments.documents_add(enrollment=enrollment, uploads=files)
            except ValidationError as error:
                upload_errors = error.messages
        if "upload" in request.POST or upload_errors:
            # Keep what the student typed; show the documents list with the outcome of this upload.
            form = StudentDataForm(initial=request.POST.dict())
            status = 400 if upload_errors else 200
            return _page(request, enrollment, token, form, upload_errors=upload_errors, status=status)

        form = StudentDataForm(request.POST)
        if form.is_valid():
            try:
                enrollments.enrollment_submit(
                    enrollment=enrollment,
                    data=form.student_data(),
                    agreed=form.cleaned_data["agree"],
                    shown_digest=form.cleaned_data["contract_digest"],
                )
            except ValidationError as error:
                if not hasattr(error, "error_dict"):
                    raise
                document_errors = error.error_dict.pop("documents", [])
                for field, field_errors in error.error_dict.items():
                    form.add_error(field, field_errors)
                form.data = form.data.copy()
                form.data["contract_digest"] = enrollments.contract_digest(enrollment)
                document_errors = [message for e in document_errors for message in e.messages]
                return _page(request, enrollment, token, form, document_errors=document_errors, status=400)
            return redirect("enrollment_thanks", token=token)
        return _page(request, enrollment, token, form, status=400)
    except ValidationError as error:
        if getattr(error, "code", None) != "not_open":
            raise
        # Submitted meanwhile (another tab, a double click): the link now shows the submission.
        messages.info(request, _("This form was already submitted; here is what we received."))
        return redirect(here)


@rate_limited("enrollment")
@require_POST
def enrollment_document_upload(request, token):
    """Dropzone's endpoint: one or more files in `file`; JSON with the stored document or the reason it was refused."""
    try:
        enrollment = _enrollment(token)
    except links.LinkError as error:
        return JsonResponse({"error": str(error.message)}, status=410 if error.gone else 404)
    files = request.FILES.getlist("file")
    if not files:
        return JsonResponse({"error": _("No file arrived; please choose a file again.")}, status=400)
    try:
        documents = enrollments.documents_add(enrollment=enrollment, uploads=files)
    except ValidationError as error:
        return JsonResponse({"error": " ".join(error.messages)}, status=400)
    return JsonResponse(
        {
            "documents": [
                {"id": document.public_id.hex, "name": document.original_name, "size": filesizeformat(document.size)}
                for document in documents
            ]
        }
    )


@rate_limited("enrollment")
def enrollment_thanks(request, token):
    try:
        enrollment = _enrollment(token)
    except links.LinkError as error:
        return _link_error(request, error)
    if enrollments.is_open(enrollment):
        return redirect("enrollment_form", token=token)
    return render(request, "crm/public/enrollment_thanks.html", {"enrollment": enrollment, "token": token})
