from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from crm.views.health import health

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("health/", health, name="health"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include("crm.urls")),
]
