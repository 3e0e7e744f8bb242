"""THE one place that decides who reaches which rows.

Every admin queryset and object check, public view, export, report and autocomplete asks here.
Rules:
- Customers: a salesperson reaches those they own (`Customer.consultant`) and those shared with them
  (a guardian object permission, direct foreign key table). Holders of `crm.view_all_customers` reach all.
- The lead pool (customers without a consultant): whoever may browse it (`crm.view_poolcustomer`) sees its
  leads in the pool list only, with the phone masked, no other contact, and the summary of the last follow-up;
  the lead itself, its follow-ups and its history stay out of reach (a share too) until it is claimed or
  assigned, except for holders of `crm.view_all_customers`. Moves in and out of the pool: managers see all;
  a salesperson their own claims and the leads returned from them.
- Follow-ups, enrollments, documents, payments, installments, refunds and students follow their customer.
- Classes: holders of `crm.view_all_classes` reach all; a teacher reaches the classes they teach, and their
  lessons and study records.
- Lead imports: managers see all; a salesperson their own.
- Counts kept per owner (the dashboard's tallies): managers read all; a salesperson their own owner's rows, and the
  leads shared with them are counted apart. Payments kept per course: those who reach every customer.
- Personal data (ID numbers in full, a person's export): the customer's salesperson and managers.
- A person's own lesson calendar and .ics feed: a student's classes, or the classes a member of staff teaches;
  a feed's secret token reads its owner's calendar and nothing else.
- Anything else a user has a model permission for is not row-restricted.
"""

import re

from django.db.models import Model, Q, QuerySet

from crm.models import (
    BalanceDue,
    CalendarFeed,
    ClassGrade,
    CourseRecord,
    Customer,
    CustomerUserObjectPermission,
    DueTally,
    Enrollment,
    EnrollmentDocument,
    FollowUp,
    Installment,
    LeadImport,
    LeadTally,
    Payment,
    PaymentTally,
    PoolCustomer,
    PoolMove,
    Refund,
    Student,
    StudyRecord,
)


def sees_all_customers(user) -> bool:
    """Managers and school admins work on every lead."""
    return user.is_active and user.has_perm("crm.view_all_customers")


def sees_all_classes(user) -> bool:
    """Salespeople and admins choose among all classes; teachers see only their own."""
    return user.is_active and user.has_perm("crm.view_all_classes")


def shared_customer_ids(user) -> list[int]:
    """Ids of customers explicitly shared with `user` (a guardian grant each; few per person)."""
    return list(
        CustomerUserObjectPermission.objects.filter(user_id=user.pk).values_list("content_object_id", flat=True)
    )


def customer_scope(user, via: str = "") -> Q:
    """A filter for rows whose customer (reached through `via`, e.g. "customer__") `user` may reach."""
    if not user.is_active:
        return Q(pk__in=[])
    if sees_all_customers(user):
        return Q()
    # Owner column OR a literal id list: both sides use an index (a subquery here made PostgreSQL scan the
    # whole table), so one salesperson's list costs the same at 10,000 customers as at 200,000.
    owned = Q(**{f"{via}consultant_id": user.pk})
    shared = _shared_scope(user, via)
    return owned | shared if shared else owned


def _shared_scope(user, via: str = "") -> Q | None:
    """The customers shared with `user` (None: none are). A share does not reach a lead in the pool: nobody's lead
    is reached only from the pool list."""
    shared = shared_customer_ids(user)
    return Q(**{f"{via}pk__in": shared, f"{via}consultant__isnull": False}) if shared else None


# Figures kept per owner (the tallies' `owner` column) cover the customers customer_scope reaches in two parts:
# the owners' rows the user reads (everyone's, or their own), and the customers shared with them, counted apart.


def owner_scope(user) -> Q:
    """Rows kept per owner that `user` reads: everyone's for those who reach every customer, else their own."""
    if not user.is_active:
        return Q(pk__in=[])
    return Q() if sees_all_customers(user) else Q(owner=user.pk)


def shared_only_customers(user) -> QuerySet[Customer]:
    """The customers `user` reaches through a share alone (someone else's lead): what owner_scope's rows miss."""
    shared = _shared_scope(user) if user.is_active and not sees_all_customers(user) else None
    return Customer.objects.filter(shared).exclude(consultant_id=user.pk) if shared else Customer.objects.none()


def follow_up_scope(user) -> Q:
    """Follow-ups of the customers `user` reaches, as one condition on the follow-up's own customer column (a
    semi-join): an OR spanning the follow-up and customer tables could use no index, so both were scanned."""
    scope = customer_scope(user)
    if not scope:  # everyone's
        return scope
    return Q(customer_id__in=Customer.objects.filter(scope).values("pk"))


def latest_follow_up_scope(user) -> Q:
    """For lists of customers' latest follow-ups alone (the calls to make, through "latest_of__"): the rows
    follow_up_scope lets through, as a condition on the customer keeping each as its latest, so the customer's
    own indexes (owner, next date) can serve the list. Combine it with the list's other conditions on
    "latest_of__" in one filter() call: each call joins the customer anew."""
    return customer_scope(user, "latest_of__")


def sees_pool(user) -> bool:
    """Salespeople and their managers browse the lead pool (and may claim from it, with crm.claim_customer)."""
    return user.is_active and user.has_perm("crm.view_poolcustomer")


def pool_scope(user) -> Q:
    """The pool's rows: leads without a consultant, in use (not archived), for those who may browse it."""
    if not sees_pool(user):
        return Q(pk__in=[])
    return Q(consultant__isnull=True, archived_at__isnull=True)


def class_scope(user, via: str = "") -> Q:
    """A filter for rows whose class (reached through `via`, e.g. "class_grade__") `user` may reach."""
    if not user.is_active:
        return Q(pk__in=[])
    if sees_all_classes(user):
        return Q()
    taught = ClassGrade.teachers.through.objects.filter(user_id=user.pk).values("classgrade_id")
    return Q(**{f"{via}pk__in": taught})


def student_scope(user) -> Q:
    """Sales reach the students of their customers; teachers the students of their classes."""
    if not user.is_active or sees_all_customers(user) or sees_all_classes(user):  # staff on the sales side
        return customer_scope(user, "customer__")
    taught = ClassGrade.teachers.through.objects.filter(user_id=user.pk).values("classgrade_id")
    # A subquery, not a join over the many-to-many: no duplicate rows.
    return Q(pk__in=Student.classes.through.objects.filter(classgrade_id__in=taught).values("student_id"))


# model -> the filter that narrows it for a user
_SCOPES = {
    Customer: customer_scope,
    PoolCustomer: pool_scope,
    FollowUp: follow_up_scope,
    Enrollment: lambda user: customer_scope(user, "customer__"),
    EnrollmentDocument: lambda user: customer_scope(user, "enrollment__customer__"),
    Payment: lambda user: customer_scope(user, "customer__"),
    Installment: lambda user: customer_scope(user, "enrollment__customer__"),
    Refund: lambda user: customer_scope(user, "enrollment__customer__"),
    BalanceDue: lambda user: customer_scope(user, "customer__"),
    Student: student_scope,
    ClassGrade: class_scope,
    CourseRecord: lambda user: class_scope(user, "class_grade__"),
    StudyRecord: lambda user: class_scope(user, "course_record__class_grade__"),
    LeadImport: lambda user: Q() if sees_all_customers(user) else Q(created_by_id=user.pk),
    # Counts kept per owner (owner_scope; a lead shared with a salesperson is counted apart). Payments are kept per
    # course alone: figures of those who reach every customer.
    LeadTally: lambda user: owner_scope(user),
    DueTally: lambda user: owner_scope(user),
    PaymentTally: lambda user: Q() if sees_all_customers(user) else Q(pk__in=[]),
    # Moves in and out of the pool: managers know them all; a salesperson their own claims and their returns.
    PoolMove: lambda user: Q() if sees_all_customers(user) else Q(to_user_id=user.pk) | Q(from_user_id=user.pk),
}


def restrict(user, queryset: QuerySet) -> QuerySet:
    """`queryset` narrowed to the rows `user` may reach, keeping its own filters and joins."""
    scope = _SCOPES.get(queryset.model)
    return queryset.filter(scope(user)) if scope else queryset


def visible(user, model: type[Model]) -> QuerySet:
    """The rows of `model` that `user` may reach (all rows for models without row rules)."""
    return restrict(user, model._default_manager.all())


def visible_customers(user) -> QuerySet[Customer]:
    return visible(user, Customer)


def visible_classes(user) -> QuerySet[ClassGrade]:
    return visible(user, ClassGrade)


def can_reach(user, obj: Model) -> bool:
    """Whether `user` may reach the row `obj` at all (its model permissions are checked separately)."""
    if obj.pk is None:
        return True
    return visible(user, type(obj)).filter(pk=obj.pk).exists()


def own_import_scope(user) -> Q:
    """The imports whose pages (progress, preview, its rows, its decisions) `user` may open: their own alone.
    Managers list everyone's imports, but a preview and what to do with it are its importer's."""
    return Q(created_by_id=user.pk) if user.is_active else Q(pk__in=[])


def own_imports(user) -> QuerySet[LeadImport]:
    return LeadImport.objects.filter(own_import_scope(user))


def sees_personal_data(user, customer: Customer) -> bool:
    """ID numbers in full, and a person's data export: the customer's own salesperson and managers (holders
    of crm.view_id_numbers). Others who reach the row see ID numbers masked."""
    return user.is_active and (customer.consultant_id == user.pk or user.has_perm("crm.view_id_numbers"))


def portal_student(user) -> Student | None:
    """The student record behind a portal login; the portal shows nothing else."""
    if not user.is_authenticated or not user.is_active:
        return None
    return Student.objects.filter(user_id=user.pk).select_related("customer").first()


def portal_classes(student: Student) -> QuerySet[ClassGrade]:
    """The classes a student is in: the only ones their portal shows."""
    return ClassGrade.objects.filter(students=student)


def portal_records(student: Student) -> QuerySet[StudyRecord]:
    """The student's own study records: the only ones their portal shows or accepts homework for."""
    return StudyRecord.objects.filter(student=student)


def calendar_lessons(user) -> QuerySet[CourseRecord]:
    """The lessons on a person's own calendar and feed: a student's classes', or those of the classes they teach."""
    if not user.is_active:
        return CourseRecord.objects.none()
    student = portal_student(user)
    if student is not None:
        return CourseRecord.objects.filter(class_grade__in=portal_classes(student).values("pk"))
    taught = ClassGrade.teachers.through.objects.filter(user_id=user.pk).values("classgrade_id")
    return CourseRecord.objects.filter(Q(class_grade_id__in=taught) | Q(teacher_id=user.pk))


FEED_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def feed_owner(token: str):
    """The active user whose calendar feed `token` opens, or None (a revoked or unknown token opens nothing)."""
    if not FEED_TOKEN.fullmatch(token):  # not one we issue (secrets.token_urlsafe): not worth a query, nor a NUL
        return None
    feed = CalendarFeed.objects.filter(token=token, user__is_active=True).select_related("user").first()
    return feed.user if feed else None
