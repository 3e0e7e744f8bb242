"""Forms of the money pages in the admin: a plan of installments, a decision's note, a reversal's note."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.services.money import PlannedInstallment

PLAN_ROWS = 6


class InstallmentForm(forms.Form):
    due_date = forms.DateField(
        label=_("Due date"), widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d")
    )
    amount = forms.DecimalField(
        label=_("Amount"),
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0.01"),
        widget=forms.NumberInput(attrs={"class": "form-control", "step": "0.01"}),
    )


class BasePlanFormSet(forms.BaseFormSet):
    def is_valid(self) -> bool:
        return not self.is_bound or super().is_valid()  # no rows posted at all: no plan

    def planned(self) -> list[PlannedInstallment]:
        """The filled rows, in due order (empty rows are left out)."""
        if not self.is_bound:
            return []
        rows = [form.cleaned_data for form in self.forms if form.cleaned_data]
        return sorted((PlannedInstallment(row["due_date"], row["amount"]) for row in rows), key=lambda i: i.due_date)


PlanFormSet = forms.formset_factory(
    InstallmentForm, formset=BasePlanFormSet, extra=PLAN_ROWS, max_num=24, validate_max=True
)


def plan_formset(data=None) -> BasePlanFormSet:
    """Bound only when the page's rows were posted (a post without them plans nothing)."""
    posted = data is not None and "plan-TOTAL_FORMS" in data
    return PlanFormSet(data if posted else None, prefix="plan")


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"})
    )
