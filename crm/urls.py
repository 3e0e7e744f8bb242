"""The public site: the course catalogue and inquiry form, the student's enrollment link and the student portal."""

from django.urls import include, path

from crm.views import calendar, enrollment, inquiry, portal

portal_patterns = [
    path("", portal.home, name="home"),
    path("classes/<int:pk>/", portal.class_detail, name="class_detail"),
    path("calendar/", calendar.portal_calendar, name="calendar"),
    path("calendar/feed/", calendar.portal_calendar_feed, name="calendar_feed"),
    path("homework/<int:record_pk>/", portal.homework_upload, name="homework_upload"),
    path("homework/<int:record_pk>/file/", portal.homework_file, name="homework_file"),
    path("password/reset/", portal.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", portal.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("login/", portal.LoginView.as_view(), name="login"),
    path("logout/", portal.LogoutView.as_view(), name="logout"),
    path("password/set/<uidb64>/<token>/", portal.PasswordSetView.as_view(), name="password_set"),
    path("password/set/done/", portal.PasswordSetDoneView.as_view(), name="password_set_done"),
]

urlpatterns = [
    path("courses/", inquiry.catalogue, name="catalogue"),
    path("inquiry/", inquiry.inquiry, name="inquiry"),
    path("inquiry/thanks/", inquiry.inquiry_thanks, name="inquiry_thanks"),
    path("enroll/<str:token>/", enrollment.enrollment_form, name="enrollment_form"),
    path("enroll/<str:token>/documents/", enrollment.enrollment_document_upload, name="enrollment_document_upload"),
    path("enroll/<str:token>/thanks/", enrollment.enrollment_thanks, name="enrollment_thanks"),
    path("portal/", include((portal_patterns, "portal"))),
    path("calendar/<str:token>.ics", calendar.feed, name="calendar_feed"),
]
