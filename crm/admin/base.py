"""The one base for every CRM ModelAdmin: row access from crm.access on each hook the admin has."""

import json

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Q
from django.http import Http404
from django.utils.formats import number_format
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from simple_history.admin import SimpleHistoryAdmin

from crm import access, roles
from crm.money_format import format_money
from crm.phones import normalize_phone


def money_column(model, field_name: str):
    """A list or read-only column showing an amount as money (¥29,800.00), titled and sorted like the field."""
    field = model._meta.get_field(field_name)

    @admin.display(description=field.verbose_name, ordering=field_name)
    def column(obj):
        return format_money(getattr(obj, field_name))

    column.__name__ = field_name  # the column's CSS class, as for the field itself
    return column


class RowAccessMixin:
    """Rows and related choices narrowed by crm.access (shared by admins and inlines)."""

    def get_queryset(self, request):
        return access.restrict(request.user, super().get_queryset(request))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        return self._restrict_choices(super().formfield_for_foreignkey(db_field, request, **kwargs), request)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        return self._restrict_choices(super().formfield_for_manytomany(db_field, request, **kwargs), request)

    @staticmethod
    def _restrict_choices(field, request):
        # Dropdowns, autocompletes and raw-id inputs validate against this queryset: another's rows never fit.
        if field is not None and hasattr(field, "queryset"):
            field.queryset = access.restrict(request.user, field.queryset)
        return field


class PhoneSearchMixin:
    """A search for a whole phone number, in any spelling ("138 0013 8000"), finds the row by its stored form.

    Only by it (and the `phone_search_also` fields, equal to its digits): a phone is nobody's name, and the unique
    index answers at any size where a `%term%` match over every search field reads the whole table.
    """

    phone_search_also: tuple[str, ...] = ()

    def get_search_results(self, request, queryset, search_term):
        try:
            phone = normalize_phone(search_term)
        except ValidationError:
            return super().get_search_results(request, queryset, search_term)
        exact = Q(phone=phone)
        digits = "".join(ch for ch in search_term if ch.isdigit())  # as a number is typed: "138 0013 8000"
        for name in self.phone_search_also:
            # "filled": the fields' unique indexes hold filled values only, and SQLite uses one only when told so.
            exact |= Q(**{name: digits}) & ~Q(**{name: ""})
        return queryset.filter(exact), False


class BoundedCountPaginator(Paginator):
    """Counts a list exactly up to EXACT_UP_TO rows (20 pages), and beyond that says "more than" (PostgreSQL: "about"
    its planner's estimate), so no page counts a whole big table or join: a page costs the same at any size."""

    EXACT_UP_TO = 1_000
    estimated = False

    @cached_property
    def count(self):
        rows = self.object_list.order_by()
        counted = rows[: self.EXACT_UP_TO + 1].count()
        self.estimated = counted > self.EXACT_UP_TO
        if not self.estimated:
            return counted
        return max(self.EXACT_UP_TO + 1, self._planner_estimate(rows))

    @staticmethod
    def _planner_estimate(rows) -> int:
        connection = connections[rows.db]
        if connection.vendor != "postgresql":
            return 0
        sql, params = rows.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        return int(plan[0]["Plan"]["Plan Rows"])

    def count_text(self) -> str:
        """How the list names its size when it was not counted to the end."""
        if self.count > self.EXACT_UP_TO + 1:
            return _("about %(count)s") % {"count": number_format(self.count, force_grouping=True)}
        return _("more than %(count)s") % {"count": number_format(self.EXACT_UP_TO, force_grouping=True)}


class SortedIdsPaginator(BoundedCountPaginator):
    """Finds a page's rows by their ids first, then reads those rows by id alone: where a list's scope cannot be
    walked in its order (a salesperson's follow-ups, across their customers), the database sorts the ids, read from
    a covering index, rather than every joined row in full. The second read repeats no condition (the ids were
    chosen under them all), so it cannot be planned the slow way again; for lists without annotations."""

    def __init__(self, object_list, *args, **kwargs):
        if object_list.query.annotations:  # the rows read by id would lack them
            raise ImproperlyConfigured("SortedIdsPaginator reads rows by id alone: it cannot keep annotations.")
        super().__init__(object_list, *args, **kwargs)

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        ids = list(self.object_list.values_list("pk", flat=True)[bottom : bottom + self.per_page])
        rows = self.object_list.model._base_manager.filter(pk__in=ids)
        related = self.object_list.query.select_related
        if related:
            rows = rows.select_related(*_paths(related)) if isinstance(related, dict) else rows.select_related()
        found = rows.in_bulk()
        return self._get_page([found[pk] for pk in ids if pk in found], number, self)


def _paths(related: dict, prefix: str = "") -> list[str]:
    """select_related's nested dict ({"customer": {"branch": {}}}) as the paths that made it."""
    paths = []
    for name, deeper in related.items():
        paths.append(prefix + name)
        paths += _paths(deeper, f"{prefix}{name}__")
    return paths


class CRMAdmin(RowAccessMixin, admin.ModelAdmin):
    """Rows, object permissions, related choices and the menu all follow crm.access and crm.roles."""

    list_per_page = 50
    show_full_result_count = False  # the unfiltered count scans the whole table on every page
    paginator = BoundedCountPaginator  # and so does the filtered one, on a big table (templates/admin/pagination.html)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        # Django's changelist drops list_select_related when the queryset already selects related rows, as
        # the managers naming a class by its course and campus do: apply it here so no column costs a query per row.
        if isinstance(self.list_select_related, list | tuple) and queryset.query.select_related:
            queryset = queryset.select_related(*self.list_select_related)
        return queryset

    def reachable_object(self, request, object_id, *, change: bool = False):
        """The row of a custom admin view: 404 if the user cannot reach it, 403 without the (view/change) right."""
        obj = self.get_object(request, object_id)  # narrowed by crm.access: another's row is absent
        if obj is None:
            self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        allowed = self.has_change_permission if change else self.has_view_permission
        if not allowed(request, obj):
            raise PermissionDenied
        return obj

    def get_changeform_initial_data(self, request):
        """A new row's values from the URL (?class_grade=3); a relation given an id of the wrong shape stays empty
        (the form's widgets would look it up, and "abc" or 20 digits there fail with 500)."""
        initial = super().get_changeform_initial_data(request)
        for name, value in list(initial.items()):
            field = next((f for f in self.opts.concrete_fields + self.opts.many_to_many if f.name == name), None)
            if field is None or not field.is_relation:
                continue
            target = field.related_model._meta.pk if field.many_to_many else field.target_field
            try:
                for item in value if isinstance(value, list) else [value]:
                    if item not in target.empty_values:
                        target.run_validators(target.to_python(item))
            except ValidationError:
                del initial[name]
        return initial

    def get_list_filter(self, request):
        # Filtering by owner is for those who see everyone's customers.
        if access.sees_all_customers(request.user):
            return self.list_filter
        return [f for f in self.list_filter if not (isinstance(f, tuple) and f[0] == "consultant")]

    def has_module_permission(self, request):
        return super().has_module_permission(request) and roles.shows_in_menu(request.user, self.model)

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self.reaches(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self.reaches(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self.reaches(request, obj)

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # A row the user cannot reach answers like a row that does not exist: 404, saying nothing of it.
        raise Http404(_("No %(name)s with this id exists, or it is not yours to open.") % {"name": opts.verbose_name})

    def reaches(self, request, obj) -> bool:
        """`obj=None` means "any row"; each row is asked about once per request."""
        if obj is None:
            return True
        cache = request.__dict__.setdefault("_crm_reach", {})
        key = (type(obj), obj.pk)
        if key not in cache:
            cache[key] = access.can_reach(request.user, obj)
        return cache[key]


class CRMHistoryAdmin(CRMAdmin, SimpleHistoryAdmin):
    """For models with history: the history and version pages pass the same row checks as the change page.

    simple-history's version page checks history permissions only and saves whatever is posted to it, so a
    user who may only view a row could write through it. Here it writes only when the user may change that
    row and the model allows reverting at all; otherwise a POST is refused. Typed URLs with an id of the
    wrong shape answer 404 (the library's URLs take any string and fail with 500).
    """

    # False where writes go through services (their checks and side effects): the version page only shows.
    history_revert = True

    def revert_disabled(self, request, obj=None):
        return (
            not self.history_revert
            or not self.has_change_permission(request, obj)
            or super().revert_disabled(request, obj)
        )

    def history_view(self, request, object_id, extra_context=None):
        self._history_object(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        obj = self._history_object(request, object_id)
        if not self._version_exists(obj, version_id):
            raise Http404(_("This version does not exist."))
        if request.method == "POST" and self.revert_disabled(request, obj):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    @staticmethod
    def _version_exists(obj, version_id: str) -> bool:
        # Parsed as the version column parses it: "²" and a 5,000-digit number pass str.isdigit() but not int().
        try:
            version_id = obj.history.model._meta.pk.to_python(version_id)
        except ValidationError:
            return False
        return obj.history.filter(history_id=version_id).exists()

    def _history_object(self, request, object_id):
        """The row, if this user reaches it (an id of the wrong shape is no row)."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        return obj


class CRMTabularInline(RowAccessMixin, admin.TabularInline):
    extra = 0


class CRMStackedInline(RowAccessMixin, admin.StackedInline):
    extra = 0
