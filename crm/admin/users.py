"""Staff accounts, with the roles they hold shown in the list, and their profile (web leads, email language)."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm import selectors
from crm.models import StaffProfile
from crm.services import accounts

User = get_user_model()
admin.site.unregister(User)


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    fields = ["takes_web_leads", "branch", "language"]
    can_delete = False
    verbose_name_plural = _("web leads and emails")


@admin.register(User)
class CRMUserAdmin(UserAdmin):
    list_display = [
        "username",
        "first_name",
        "last_name",
        "email",
        "roles",
        "takes_web_leads",
        "is_active",
        "last_login",
    ]
    list_filter = ["groups", "is_active", "is_staff", "staff_profile__takes_web_leads"]
    list_select_related = ["staff_profile"]
    inlines = [StaffProfileInline]
    actions = ["clear_lockouts"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if (request.GET.get("model_name"), request.GET.get("field_name")) == ("classgrade", "teachers"):
            queryset = queryset.filter(pk__in=selectors.teachers())  # the class form's picker offers teachers only
        return queryset, may_have_duplicates

    @admin.display(description=_("roles"))
    def roles(self, user):
        return ", ".join(str(group) for group in user.groups.all())  # the roles' labels (crm.apps)

    @admin.display(description=_("takes web leads"), boolean=True)
    def takes_web_leads(self, user):
        profile = getattr(user, "staff_profile", None)
        return bool(profile and profile.takes_web_leads)

    @admin.action(
        description=_("Let the selected users sign in again (clear wrong-password lockouts)"), permissions=["change"]
    )
    def clear_lockouts(self, request, queryset):
        cleared = accounts.lockouts_clear(users=queryset)
        self.message_user(
            request,
            ngettext("%(count)d failed sign-in was cleared.", "%(count)d failed sign-ins were cleared.", cleared)
            % {"count": cleared},
        )
