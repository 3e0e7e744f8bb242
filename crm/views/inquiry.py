"""The public pages for people choosing a course: the catalogue and the inquiry form (no login).

The form answers the same page whatever happened to the inquiry (a new lead, a known phone, a bot caught by the
honeypot), so it never tells anyone whether a phone is known. Every rule is enforced by the form and the service.
"""

from urllib.parse import urlencode

from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from crm import selectors
from crm.forms import InquiryForm
from crm.ratelimit import rate_limited
from crm.services import inquiry as inquiries
from crm.services.enrollment import seats_left


@rate_limited("catalogue")
@require_GET
def catalogue(request):
    courses = selectors.catalogue_courses()
    for course in courses:
        for class_grade in course.upcoming:
            class_grade.seats_left = seats_left(class_grade)
    # A campaign's parameters follow the visitor to the form, which keeps them on the lead as its channel.
    channel_query = urlencode(inquiries.channel_params(request.GET))
    return render(request, "crm/public/catalogue.html", {"courses": courses, "channel_query": channel_query})


@rate_limited("inquiry")
@require_http_methods(["GET", "POST"])
def inquiry(request):
    if request.method == "GET":
        form = InquiryForm(initial={"course": request.GET.get("course")})
        return render(request, "crm/public/inquiry_form.html", {"form": form})
    form = InquiryForm(request.POST)
    if form.is_bot():
        return redirect("inquiry_thanks")  # the same answer as anyone's; nothing is kept
    if not form.is_valid():
        return render(request, "crm/public/inquiry_form.html", {"form": form}, status=400)
    # The form posts to its own address, so the page's ?src= and utm_* parameters are still in the query.
    inquiries.inquiry_submit(inquiry=form.inquiry(channel=inquiries.channel_from(request.GET)))
    return redirect("inquiry_thanks")


@require_GET
def inquiry_thanks(request):
    return render(request, "crm/public/inquiry_thanks.html")
