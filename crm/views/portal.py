"""The student portal: log in, set or reset the password by email, my classes, a class's lessons, homework.

Everything shown is the signed-in student's own, read through crm.access; another student's ids answer 404.
"""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, F, Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm import access, ledger
from crm.forms import PortalLoginForm, StudentPasswordResetForm
from crm.models import CourseRecord
from crm.ratelimit import rate_limited
from crm.services import academics
from crm.uploads import file_response


@method_decorator(rate_limited("portal-login"), name="post")
class LoginView(auth_views.LoginView):
    form_class = PortalLoginForm
    template_name = "crm/portal/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return str(reverse_lazy("portal:home"))


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("portal:login")


class PasswordSetView(auth_views.PasswordResetConfirmView):
    """The link of the approval email and of a password reset: choose a password, then log in."""

    template_name = "crm/portal/password_set.html"
    success_url = reverse_lazy("portal:password_set_done")


class PasswordSetDoneView(auth_views.PasswordResetCompleteView):
    template_name = "crm/portal/password_set_done.html"


@method_decorator(rate_limited("portal-reset"), name="post")
class PasswordResetView(auth_views.PasswordResetView):
    """A forgotten password: a set-password link to the account's email (the page says the same either way)."""

    form_class = StudentPasswordResetForm
    template_name = "crm/portal/password_reset.html"
    extra_email_context = {"school": settings.SCHOOL_NAME}
    email_template_name = "crm/portal/password_reset_email.txt"
    subject_template_name = "crm/portal/password_reset_subject.txt"
    success_url = reverse_lazy("portal:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "crm/portal/password_reset_done.html"


def student_required(view):
    """Logged in, and a student: the view receives the student record."""

    @wraps(view)
    @login_required(login_url="portal:login")
    def wrapper(request, *args, **kwargs):
        student = access.portal_student(request.user)
        if student is None:  # staff or a login without a student record: say where to go instead
            return render(request, "crm/portal/home.html", {"student": None}, status=403)
        return view(request, student, *args, **kwargs)

    return wrapper


@student_required
def home(request, student):
    """My classes: course, campus, dates, teachers and progress (lessons held of the lessons the course plans)."""
    today = timezone.localdate()
    classes = (
        access.portal_classes(student)
        .annotate(
            lessons_held=Count("lessons", filter=Q(lessons__date__lte=today), distinct=True),
            lessons_planned=F("course__lessons"),
        )
        .prefetch_related("teachers")
        .order_by("start_date", "pk")
    )
    lessons_left = ledger.lessons_left_by_class(student)
    for class_grade in classes:
        class_grade.lessons_left = lessons_left.get(class_grade.pk)
    return render(request, "crm/portal/home.html", {"student": student, "classes": classes})


@student_required
def class_detail(request, student, pk):
    """A class's lessons, each with its outline, homework and my record of it."""
    class_grade = get_object_or_404(access.portal_classes(student), pk=pk)
    mine = Prefetch("study_records", queryset=access.portal_records(student), to_attr="my_records")
    lessons = CourseRecord.objects.filter(class_grade=class_grade).select_related("teacher").prefetch_related(mine)
    now = timezone.now()
    rows = []
    for lesson in lessons:
        record = lesson.my_records[0] if lesson.my_records else None
        rows.append((lesson, record, academics.homework_open(lesson, record, now)))
    context = {
        "student": student,
        "class_grade": class_grade,
        "rows": rows,
        "now": now,
        "max_size": filesizeformat(settings.HOMEWORK_MAX_BYTES),
    }
    return render(request, "crm/portal/class_detail.html", context)


@require_POST
@student_required
def homework_upload(request, student, record_pk):
    record = get_object_or_404(access.portal_records(student).select_related("course_record"), pk=record_pk)
    back = redirect("portal:class_detail", pk=record.course_record.class_grade_id)
    upload = request.FILES.get("homework")
    if upload is None:
        messages.error(request, _("Choose a file to upload."))
        return back
    try:
        academics.homework_submit(record=record, student=student, upload=upload)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        messages.success(
            request, _("Your homework for “%(lesson)s” is handed in.") % {"lesson": record.course_record.title}
        )
    return back


@student_required
def homework_file(request, student, record_pk):
    """The student's own submitted file, as a download."""
    record = get_object_or_404(access.portal_records(student), pk=record_pk)
    if not record.homework_file:
        raise Http404(_("No homework was handed in for this lesson."))
    return file_response(record.homework_file, record.homework_original_name)
