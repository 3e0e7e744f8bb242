"""Forms of the public pages and of the enrollment steps in the admin."""

import unicodedata
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from crm import emails, selectors
from crm.id_numbers import birth_date, validate_mainland_id
from crm.models import Branch, Course, Enrollment, Payment
from crm.phones import format_phone, normalize_phone
from crm.reports import Filters
from crm.services.enrollment import StudentData, seats_left
from crm.services.inquiry import Inquiry

BIRTHDAY_MISMATCH = _("The birthday does not match the one in the ID number.")
BAD_OTHER_ID = _("Enter the document number as printed: 5 to 20 letters and digits.")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class StudentDataForm(forms.Form):
    """The student's personal data; the contract box and documents are checked again by the service."""

    name = forms.CharField(label=_("Full name"), max_length=64)
    phone = forms.CharField(label=_("Mobile phone"), max_length=32)
    email = forms.EmailField(label=_("Email"), help_text=_("We send your portal login here."))
    id_type = forms.ChoiceField(label=_("ID type"), choices=Enrollment.IdType.choices)
    id_number = forms.CharField(label=_("ID number"), max_length=32)
    birthday = forms.DateField(
        label=_("Birthday"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    address = forms.CharField(label=_("Address"), max_length=255)
    emergency_contact = forms.CharField(label=_("Emergency contact"), max_length=64)
    emergency_phone = forms.CharField(label=_("Emergency contact's phone"), max_length=32)
    documents = forms.FileField(
        label=_("ID documents"),
        required=False,
        widget=MultipleFileInput(attrs={"accept": "image/jpeg,image/png,application/pdf"}),
    )
    agree = forms.BooleanField(label=_("I have read and agree to the contract above"), required=False)
    contract_digest = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name not in {"agree", "documents", "contract_digest"}:
                field.widget.attrs.setdefault("class", "custom-select" if name == "id_type" else "form-control")
        self.fields["documents"].help_text = _("Up to %(count)d files, JPEG, PNG or PDF, at most %(size)s each.") % {
            "count": settings.DOCUMENT_MAX_COUNT,
            "size": filesizeformat(settings.DOCUMENT_MAX_BYTES),
        }
        self.fields["phone"].widget.attrs.update(autocomplete="tel", inputmode="tel")
        self.fields["email"].widget.attrs.update(autocomplete="email")
        self.fields["name"].widget.attrs.update(autocomplete="name")

    def clean_phone(self):
        return normalize_phone(self.cleaned_data["phone"])

    def clean_emergency_phone(self):
        return format_phone(normalize_phone(self.cleaned_data["emergency_phone"]))

    def clean(self):
        data = super().clean()
        number, id_type = data.get("id_number", ""), data.get("id_type")
        if not number or not id_type:
            return data
        if id_type == Enrollment.IdType.MAINLAND_ID:
            try:
                data["id_number"] = validate_mainland_id(number)
            except ValidationError as error:
                self.add_error("id_number", error)
                return data
            born = birth_date(data["id_number"])
            if data.get("birthday") and data["birthday"] != born:
                self.add_error("birthday", BIRTHDAY_MISMATCH)
            data["birthday"] = data.get("birthday") or born
        else:
            number = number.strip().upper().replace(" ", "")
            if not (5 <= len(number) <= 20 and number.isalnum() and number.isascii()):
                self.add_error("id_number", BAD_OTHER_ID)
            data["id_number"] = number
        return data

    def student_data(self) -> StudentData:
        data = self.cleaned_data
        fields = StudentData.__dataclass_fields__
        return StudentData(**{name: data.get(name) or ("" if name != "birthday" else None) for name in fields})


class InquiryForm(forms.Form):
    """The public inquiry form ("consult a course"); `website` is a honeypot that people never see or fill."""

    name = forms.CharField(label=_("Your name"), max_length=64)
    phone = forms.CharField(label=_("Mobile phone"), max_length=32)
    course = forms.ModelChoiceField(label=_("Course"), queryset=Course.objects.all(), empty_label=_("Choose a course"))
    campus = forms.ModelChoiceField(
        label=_("Campus"), queryset=Branch.objects.all(), required=False, empty_label=_("Any campus")
    )
    message = forms.CharField(
        label=_("Your question"), max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    website = forms.CharField(label=_("Leave this field empty"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("class", "form-select" if name in ("course", "campus") else "form-control")
        self.fields["name"].widget.attrs.update(autocomplete="name")
        self.fields["phone"].widget.attrs.update(autocomplete="tel", inputmode="tel", placeholder="138 0013 8000")
        self.fields["website"].widget.attrs.update(autocomplete="off", tabindex="-1")

    def is_bot(self) -> bool:
        """Only a program fills the hidden field."""
        return bool(self.data.get("website"))

    def clean_phone(self):
        return normalize_phone(self.cleaned_data["phone"])

    def inquiry(self, channel: str = "") -> Inquiry:
        data = self.cleaned_data
        return Inquiry(
            name=data["name"].strip(),
            phone=data["phone"],
            course=data["course"],
            branch=data["campus"],
            message=data["message"].strip(),
            channel=channel,
        )


class ClassChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, class_grade):
        left = seats_left(class_grade)
        if not left:
            return _("%(class)s — full") % {"class": class_grade}
        return _("%(class)s — %(left)d of %(capacity)d seats left, starts %(start)s") % {
            "class": class_grade,
            "left": left,
            "capacity": class_grade.capacity,
            "start": class_grade.start_date,
        }


class FullClassesDisabled(forms.Select):
    """A full class is shown but cannot be picked (the service refuses it too)."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        instance = getattr(value, "instance", None)
        if instance is not None and not seats_left(instance):
            option["attrs"]["disabled"] = True
        return option


class StartEnrollmentForm(forms.Form):
    class_grade = ClassChoiceField(
        label=_("Class"), queryset=None, widget=FullClassesDisabled(attrs={"class": "form-control"})
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["class_grade"].queryset = selectors.classes_open_for_enrollment(user)


class ApproveForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount paid"),
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0.01"),
        widget=forms.NumberInput(attrs={"class": "form-control", "step": "0.01"}),
    )
    method = forms.ChoiceField(
        label=_("Payment method"), choices=Payment.Method.choices, widget=forms.Select(attrs={"class": "form-control"})
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"})
    )


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 4, "class": "form-control"}),
        help_text=_("The student reads this on their enrollment page."),
    )


class DashboardFilterForm(forms.Form):
    """The dashboard's filters; every field is optional and an invalid one is simply ignored."""

    date_from = forms.DateField(
        label=_("Leads from"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    date_to = forms.DateField(
        label=_("to"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    branch = forms.ModelChoiceField(label=_("Campus"), queryset=Branch.objects.all(), required=False)
    course = forms.ModelChoiceField(label=_("Course"), queryset=Course.objects.all(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-control form-control-sm")

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end of the range is before its start."))
        return data

    def filters(self) -> Filters:
        if not self.is_bound:
            return Filters()
        self.is_valid()  # a field with an error drops out of cleaned_data; the others still apply
        data = self.cleaned_data
        return Filters(**{name: data.get(name) for name in ("date_from", "date_to", "branch", "course")})


class StudentPasswordResetForm(PasswordResetForm):
    """Reset for portal logins: also a student who never set a password (lost the approval email) gets a link."""

    def get_users(self, email):
        wanted = unicodedata.normalize("NFKC", email).casefold()
        users = get_user_model()._default_manager.filter(email__iexact=email, is_active=True, student__isnull=False)
        return (user for user in users if unicodedata.normalize("NFKC", user.email).casefold() == wanted)

    def send_mail(
        self, subject_template_name, email_template_name, context, from_email, to_email, html_email_template_name=None
    ):
        """Rendered here as Django does, sent by the same queued, retried task as every other email."""
        html = render_to_string(html_email_template_name, context) if html_email_template_name else None
        emails.enqueue(
            subject=render_to_string(subject_template_name, context),
            text=render_to_string(email_template_name, context),
            html=html,
            to=to_email,
        )


class BoundedUsernameMixin:
    """A username longer than any account's is a failed sign-in, refused before it is authenticated.

    AuthenticationForm sets the field's max_length after building it, so no validator enforces it; the
    over-long name then reached django-axes' attempt record (255 characters) and PostgreSQL refused it: a 500.
    """

    def clean_username(self):
        username = self.cleaned_data["username"]
        if len(username) > self.fields["username"].max_length:
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )
        return username


class AdminLoginForm(BoundedUsernameMixin, AdminAuthenticationForm):
    pass


class PortalLoginForm(BoundedUsernameMixin, AuthenticationForm):
    """Students log in with the phone they enrolled with, however they write it ("138 0013 8000"), or with their
    username.

    The portal is for students: staff accounts sign in at the admin, where their sessions are the admin's.
    """

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _(
            "That mobile phone or username and password do not match. Check the number and the password and try again."
        ),
        "staff": _("This is the students' portal. Staff sign in at the CRM's own sign-in page."),
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = _("Mobile phone or username")

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if user.is_staff:
            raise ValidationError(self.error_messages["staff"], code="staff")

    def clean_username(self):
        return selectors.portal_username(super().clean_username())
