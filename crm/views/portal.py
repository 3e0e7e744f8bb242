"""The student portal's doors: log in, set the password from the emailed link, and the home page."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator

from crm import access
from crm.ratelimit import rate_limited


@method_decorator(rate_limited("portal-login"), name="post")
class LoginView(auth_views.LoginView):
    template_name = "crm/portal/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return str(reverse_lazy("portal:home"))


class PasswordSetView(auth_views.PasswordResetConfirmView):
    """The link of the approval email (and of a password reset): choose a password, then log in."""

    template_name = "crm/portal/password_set.html"
    success_url = reverse_lazy("portal:password_set_done")


class PasswordSetDoneView(auth_views.PasswordResetCompleteView):
    template_name = "crm/portal/password_set_done.html"


@login_required(login_url="portal:login")
def home(request):
    """My classes: course, campus, dates and teachers."""
    student = access.portal_student(request.user)
    if student is None:  # staff or a student without a record: say where to go instead
        return render(request, "crm/portal/home.html", {"student": None}, status=403)
    classes = student.classes.select_related("course", "branch").prefetch_related("teachers").order_by("start_date")
    return render(request, "crm/portal/home.html", {"student": student, "classes": classes})


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("portal:login")
