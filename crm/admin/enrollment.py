"""The enrollment's admin page is the audit desk: the link, the student's data, documents and contract on one screen,
and only the decision's buttons (approve with the payment, reject with a reason, reopen)."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from crm import access, documents, ledger, links
from crm.forms import ApproveForm, RejectForm
from crm.id_numbers import mask_id_number
from crm.models import Enrollment, EnrollmentDocument
from crm.money_forms import plan_formset
from crm.services import enrollment as enrollments
from crm.services import money, privacy
from crm.uploads import file_response

from .base import CRMHistoryAdmin

MONEY_READONLY = ["discount_approved_by", "discount_approved_at", "ended_at"]
STUDENT_FIELDS = ["id_type", "id_number", "birthday", "address", "emergency_contact", "emergency_phone"]


class EnrollmentAddForm(forms.ModelForm):
    class Meta:
        model = Enrollment
        fields = ["customer", "class_grade"]

    def clean(self):
        data = super().clean()
        class_grade = data.get("class_grade")
        if class_grade and enrollments.seats_left(class_grade) <= 0:
            self.add_error("class_grade", enrollments.CLASS_FULL % {"class": class_grade})
        return data


class EnrollmentMoneyForm(forms.ModelForm):
    """The agreed price on the desk, until approval; a discount needs a reason (crm.services.money.price_check)."""

    class Meta:
        model = Enrollment
        fields = ["price", "discount_reason"]
        widgets = {
            "price": forms.NumberInput(attrs={"class": "form-control", "step": "0.01"}),
            "discount_reason": forms.TextInput(attrs={"class": "form-control"}),
        }

    def clean(self):
        data = super().clean()
        if "price" in self.fields:
            candidate = Enrollment(class_grade=self.instance.class_grade, price=data.get("price"))
            candidate.discount_reason = data.get("discount_reason", "")
            try:
                money.price_check(candidate)
            except ValidationError as error:
                self.add_error(None, error)
        return data


@admin.register(Enrollment)
class EnrollmentAdmin(CRMHistoryAdmin):
    history_revert = False  # written through services only
    list_display = ["customer", "class_grade", "status", "consultant", "submitted_at", "created_at"]
    list_filter = [
        "status",
        ("class_grade", admin.RelatedOnlyFieldListFilter),
        ("consultant", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["customer", "class_grade__course", "class_grade__branch", "consultant"]
    search_fields = ["customer__name", "customer__phone", "id_number"]
    autocomplete_fields = ["customer", "class_grade"]
    # What the student gave and what the audit decided are records: they change only through the flow's steps.
    # The fieldsets serve the add page and the history's version pages; an enrollment's own page is the desk.
    readonly_fields = [
        "customer",
        "class_grade",
        "status",
        "consultant",
        *STUDENT_FIELDS,
        "contract_text",
        "contract_agreed",
        "contract_agreed_at",
        "submitted_at",
        "contract_approved",
        "approved_by",
        "approved_at",
        "reject_reason",
        "created_at",
        "price",
        "discount_reason",
        *MONEY_READONLY,
    ]
    fieldsets = [
        (None, {"fields": ["customer", "class_grade", "status", "consultant"]}),
        (_("Student's data"), {"fields": STUDENT_FIELDS}),
        (_("Contract"), {"fields": ["contract_text", "contract_agreed", "contract_agreed_at", "submitted_at"]}),
        (_("Audit"), {"fields": ["contract_approved", "approved_by", "approved_at", "reject_reason", "created_at"]}),
        (_("Price"), {"fields": ["price", "discount_reason", *MONEY_READONLY]}),
    ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = EnrollmentAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [self._id_number_field(request, obj) if f == "id_number" else f for f in self.readonly_fields]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ["customer", "class_grade"]})]
        shown = self._id_number_field(request, obj)
        return [
            (name, {**options, "fields": [shown if f == "id_number" else f for f in options["fields"]]})
            for name, options in self.fieldsets
        ]

    # --- ID numbers in full for the customer's salesperson and managers only (crm.access); masked for others

    def _id_number_field(self, request, enrollment) -> str:
        return "id_number" if access.sees_personal_data(request.user, enrollment.customer) else "id_number_masked"

    @admin.display(description=_("ID number"))
    def id_number_masked(self, enrollment):
        return mask_id_number(enrollment.id_number)

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        super().set_history_delta_changes(request, historical_records, foreign_keys_are_objs)
        records = [r for r in historical_records if getattr(r, "history_delta_changes", None)]
        if records and not access.sees_personal_data(request.user, records[0].instance.customer):
            for record in records:
                for change in record.history_delta_changes:
                    if change["field"] in ("id_number", Enrollment._meta.get_field("id_number").verbose_name):
                        change["old"], change["new"] = mask_id_number(change["old"]), mask_id_number(change["new"])

    def save_model(self, request, obj, form, change):
        if not change:
            enrollments.enrollment_create(enrollment=obj, by=request.user)

    # --- the audit desk's own pages

    def get_urls(self):
        def view(function, name):
            return path(
                f"<path:object_id>/{name}/", self.admin_site.admin_view(function), name=f"crm_enrollment_{name}"
            )

        return [
            view(self.renew_link_view, "renew_link"),
            view(self.send_link_view, "send_link"),
            view(self.approve_view, "approve"),
            view(self.reject_view, "reject"),
            view(self.reopen_view, "reopen"),
            view(self.price_view, "price"),
            view(self.plan_view, "plan"),
            view(self.approve_discount_view, "approve_discount"),
            view(self.contract_view, "contract"),
            path(
                "<path:object_id>/documents/<uuid:document_id>/",
                self.admin_site.admin_view(self.document_view),
                name="crm_enrollment_document",
            ),
        ] + super().get_urls()

    def _back(self, enrollment):
        return redirect("admin:crm_enrollment_change", enrollment.pk)

    def _run(self, request, enrollment, step, success_message):
        """Run a step of the flow; its refusal is shown in words on the audit desk."""
        try:
            step()
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
        except PermissionDenied as error:
            self.message_user(request, str(error) or enrollments.CANNOT_AUDIT, messages.ERROR)
        else:
            message = success_message() if callable(success_message) else success_message
            self.message_user(request, message, messages.SUCCESS)
        return self._back(enrollment)

    public_url = staticmethod(links.public_url)

    def link_url(self, request, enrollment) -> str:
        return self.public_url(request, enrollment.get_public_url())

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """An enrollment is decided, never edited: its page is the audit desk (a POST to it changes nothing)."""
        return self._desk(request, self.reachable_object(request, object_id))

    def _desk(
        self, request, enrollment, *, approve_form=None, plan=None, reject_form=None, price_form=None, status=200
    ):
        """One screen with everything the decision needs, its money, and only the decision's buttons."""
        can_change = self.has_change_permission(request, enrollment)
        decides = can_change and enrollment.status == Enrollment.Status.SUBMITTED
        prices = can_change and enrollment.status != Enrollment.Status.APPROVED
        context = {
            **self.admin_site.each_context(request),
            "title": _("Audit enrollment"),
            "opts": self.opts,
            "original": enrollment,
            "enrollment": enrollment,
            "customer": enrollment.customer,
            "id_number": enrollment.id_number
            if access.sees_personal_data(request.user, enrollment.customer)
            else mask_id_number(enrollment.id_number),
            "public_link": ""
            if enrollment.status == Enrollment.Status.APPROVED
            else self.link_url(request, enrollment),
            "documents": [(document, self.document_url(document)) for document in enrollment.documents.all()],
            "payments": enrollment.payments.all(),
            "can_change": can_change,
            "approve_form": (approve_form or self._approve_form(enrollment)) if decides else None,
            "plan": (plan or plan_formset()) if decides else None,
            "reject_form": (reject_form or RejectForm()) if decides else None,
            "price_form": (price_form or EnrollmentMoneyForm(instance=enrollment)) if prices else None,
            "link_days": settings.ENROLLMENT_LINK_MAX_AGE_DAYS,
            **self.money_context(request, enrollment),
        }
        return TemplateResponse(request, "admin/crm/enrollment/desk.html", context, status=status)

    @staticmethod
    def _approve_form(enrollment, data=None) -> ApproveForm:
        price = enrollment.price if enrollment.price is not None else enrollment.class_grade.course.price
        return ApproveForm(data, initial={"amount": price})

    def _post_step(self, request, object_id, step, success_message):
        """A one-button step of the flow (POST only; a GET just goes back to the desk)."""
        enrollment = self.reachable_object(request, object_id, change=True)
        if request.method != "POST":
            return self._back(enrollment)
        return self._run(request, enrollment, lambda: step(enrollment), success_message)

    def renew_link_view(self, request, object_id):
        return self._post_step(
            request,
            object_id,
            lambda enrollment: enrollments.link_renew(enrollment=enrollment, by=request.user),
            _("A new link was issued; the old one no longer works."),
        )

    def send_link_view(self, request, object_id):
        return self._post_step(
            request,
            object_id,
            lambda enrollment: enrollments.link_send(
                enrollment=enrollment, link_url=self.link_url(request, enrollment), by=request.user
            ),
            _("The email with the link is queued for the student; it is sent in a moment."),
        )

    def reopen_view(self, request, object_id):
        return self._post_step(
            request,
            object_id,
            lambda enrollment: enrollments.enrollment_reopen(enrollment=enrollment, by=request.user),
            _("The form is open again; the student can correct it through the same link."),
        )

    def approve_view(self, request, object_id):
        enrollment = self.reachable_object(request, object_id, change=True)
        form = self._approve_form(enrollment, request.POST or None)
        plan = plan_formset(request.POST or None)
        if request.method == "POST" and form.is_valid() and plan.is_valid():
            try:  # a refusal about the money (a plan is needed, the sum is off) is shown on this page, by the form
                money.approval_check(enrollment, form.cleaned_data["amount"], plan.planned())
            except ValidationError as error:
                form.add_error(None, error)
            else:

                def approve():
                    enrollments.enrollment_approve(
                        enrollment=enrollment,
                        by=request.user,
                        set_password_url=lambda user: self.public_url(request, enrollments.set_password_path(user)),
                        installments=plan.planned(),
                        **form.cleaned_data,
                    )

                return self._run(request, enrollment, approve, lambda: self._approved_message(enrollment))
        if request.method != "POST":
            return self._back(enrollment)
        return self._desk(request, enrollment, approve_form=form, plan=plan, status=400)

    def price_view(self, request, object_id):
        """The agreed price and the discount's reason, from the desk's small form, until approval."""
        enrollment = self.reachable_object(request, object_id, change=True)
        if request.method != "POST":
            return self._back(enrollment)
        form = EnrollmentMoneyForm(request.POST, instance=Enrollment.objects.get(pk=enrollment.pk))
        if not form.is_valid():
            return self._desk(request, enrollment, price_form=form, status=400)
        agreed = form.instance
        agreed.set_default_price()
        return self._run(
            request,
            enrollment,
            lambda: money.enrollment_price_set(
                enrollment=enrollment, price=agreed.price, reason=agreed.discount_reason, by=request.user
            ),
            _("The price is saved."),
        )

    @staticmethod
    def _approved_message(enrollment) -> str:
        enrollment.customer.refresh_from_db()
        done = (
            _("Approved: the payment is recorded, %(name)s is in %(class)s and was emailed a portal login.")
            if enrollment.customer.email
            else _(
                "Approved: the payment is recorded and %(name)s is in %(class)s. They have no email address, "
                "so no set-password link was sent: add one and use “Forgot your password?” on the portal."
            )
        )
        return done % {"name": enrollment.customer.name, "class": enrollment.class_grade}

    def reject_view(self, request, object_id):
        enrollment = self.reachable_object(request, object_id, change=True)
        form = RejectForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            return self._run(
                request,
                enrollment,
                lambda: enrollments.enrollment_reject(
                    enrollment=enrollment, by=request.user, reason=form.cleaned_data["reason"]
                ),
                _("Rejected; the student sees the reason on their page."),
            )
        if request.method != "POST":
            return self._back(enrollment)
        return self._desk(request, enrollment, reject_form=form, status=400)

    def document_view(self, request, object_id, document_id):
        """A document, to those who may see its enrollment: images inline, PDFs only as a download."""
        enrollment = self.reachable_object(request, object_id)
        document = get_object_or_404(EnrollmentDocument, enrollment=enrollment, public_id=document_id)
        inline = document.content_type.startswith("image/")
        record = {"action": privacy.Action.DOCUMENT, "customer": enrollment.customer, "detail": str(document.public_id)}
        privacy.access_record(by=request.user, **record)
        return file_response(document.file, document.original_name, content_type=document.content_type, inline=inline)

    def document_url(self, document) -> str:
        return reverse("admin:crm_enrollment_document", args=[document.enrollment_id, document.public_id])

    # --- money: the card on the desk, the plan, the discount, the signed contract

    def money_context(self, request, enrollment) -> dict:
        user = request.user
        return {
            "account": ledger.account(enrollment),
            "installments": enrollment.installments.select_related("payment").order_by("due_date", "pk"),
            "payments": ledger.payments_of(enrollment),
            "refunds": enrollment.refunds.order_by("requested_at", "pk"),
            "discount_percent": ledger.discount_percent(enrollment),
            "discount_awaits": ledger.discount_awaits_approval(enrollment),
            "may_approve_discount": user.has_perm("crm.approve_discount"),
            "may_plan": user.has_perm("crm.add_installment") and enrollment.status == Enrollment.Status.APPROVED,
            "may_refund": user.has_perm("crm.add_refund") and enrollment.status == Enrollment.Status.APPROVED,
            "may_pay": user.has_perm("crm.add_payment") and enrollment.status == Enrollment.Status.APPROVED,
        }

    def plan_view(self, request, object_id):
        """A new plan of installments for the balance due."""
        enrollment = self.reachable_object(request, object_id)
        if not request.user.has_perm("crm.add_installment"):
            raise PermissionDenied
        plan = plan_formset(request.POST or None)
        if request.method == "POST" and plan.is_bound and plan.is_valid():
            try:
                money.plan_set(enrollment=enrollment, installments=plan.planned(), by=request.user)
            except ValidationError as error:
                plan._non_form_errors = plan.error_class(error.messages)
            else:
                self.message_user(request, _("The new plan is saved."), messages.SUCCESS)
                return self._back(enrollment)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Plan the balance due"),
            "opts": self.opts,
            "original": enrollment,
            "enrollment": enrollment,
            "account": ledger.account(enrollment),
            "plan": plan,
        }
        status = 400 if request.method == "POST" else 200
        return TemplateResponse(request, "admin/crm/enrollment/plan.html", context, status=status)

    def approve_discount_view(self, request, object_id):
        enrollment = self.reachable_object(request, object_id)
        if request.method != "POST":
            return self._back(enrollment)
        return self._run(
            request,
            enrollment,
            lambda: money.enrollment_discount_approve(enrollment=enrollment, by=request.user),
            _("The discount is approved."),
        )

    def contract_view(self, request, object_id):
        """The contract as the student agreed to it, as a PDF (ID number partly masked)."""
        enrollment = self.reachable_object(request, object_id)
        if not enrollment.contract_agreed:
            raise Http404(_("The student has not agreed to the contract yet."))
        return documents.pdf_response(documents.contract_pdf(enrollment), f"contract-{enrollment.pk}.pdf")
