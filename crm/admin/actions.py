"""What admin actions share: a form between the list and the action (pick a consultant, give a reason), and
running a service on each selected row with one message per refusal."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm import selectors


def person_name(user) -> str:
    return user.get_full_name() or user.get_username()


class ConsultantChoiceField(forms.ModelChoiceField):
    """Each consultant by name, with the open leads they already have (selectors.consultants_with_open_leads)."""

    def label_from_instance(self, user):
        count = user.open_leads
        return ngettext("%(name)s (%(count)d open lead)", "%(name)s (%(count)d open leads)", count) % {
            "name": person_name(user),
            "count": count,
        }


class PickUserForm(forms.Form):
    user = ConsultantChoiceField(label=_("Consultant"), queryset=selectors.consultants_with_open_leads())


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=255, widget=forms.Textarea(attrs={"rows": 3}))


def ask(model_admin, request, queryset, form_class, *, action, title, intro, submit_label):
    """(the form's cleaned data, None) when the intermediate page was submitted and valid, else (None, the page)."""
    form = form_class(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        return form.cleaned_data, None
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "submit_label": submit_label,
        "opts": model_admin.model._meta,
        "queryset": queryset,
        "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
        "action": action,
        "form": form,
    }
    return None, TemplateResponse(request, "admin/crm/action_form.html", context)


def apply_each(model_admin, request, queryset, move, done_message, *, stop_codes=()) -> int:
    """Run `move(row)` on each selected row (each its own transaction): a refusal is told in its own words and
    leaves the others going, unless its code is in `stop_codes` (it would refuse the rest alike)."""
    done = 0
    for row in queryset:
        try:
            move(row)
        except ValidationError as error:
            model_admin.message_user(request, " ".join(error.messages), messages.WARNING)
            if getattr(error, "code", None) in stop_codes:
                break
        else:
            done += 1
    if done:
        model_admin.message_user(request, done_message(done), messages.SUCCESS)
    return done
