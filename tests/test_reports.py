"""The dashboard's figures on a known data set: every number exact, per role, with filters and empty ranges."""

import datetime
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from crm import reports
from crm.models import Customer, Payment
from crm.services import leads as leads_service
from tests import factories

pytestmark = pytest.mark.django_db
Status, Source = Customer.Status, Customer.Source


def at(day: str) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.fromisoformat(day + "T12:00"))


@pytest.fixture
def school(sales, other_sales):
    campus_x, campus_y = factories.BranchFactory(name="X"), factories.BranchFactory(name="Y")
    python, go = factories.CourseFactory(name="Python"), factories.CourseFactory(name="Go")

    def lead(owner, source, status, created, branch=None, course=None):
        customer = factories.CustomerFactory(consultant=owner, source=source, status=status, branch=branch)
        Customer.objects.filter(pk=customer.pk).update(created_at=at(created))
        if course:
            customer.consult_courses.add(course)
        return customer

    a1 = lead(sales, Source.WEBSITE, Status.ENROLLED, "2026-09-10", campus_x, python)
    lead(sales, Source.WEBSITE, Status.FOLLOWING, "2026-09-20", campus_x)
    lead(sales, Source.REFERRAL, Status.NEW, "2026-10-05", campus_y, go)
    lead(sales, "", Status.LOST, "2026-10-06")  # a lead with no source (an old import)
    b1 = lead(other_sales, Source.WEBSITE, Status.ENROLLED, "2026-10-07", campus_x, python)
    lead(other_sales, Source.QQ_GROUP, Status.NEW, "2026-10-08")
    factories.PaymentFactory(customer=a1, course=python, amount=Decimal("9800.00"), paid_at=at("2026-09-15"))
    factories.PaymentFactory(customer=b1, course=python, amount=Decimal("16800.00"), paid_at=at("2026-10-10"))
    return {"X": campus_x, "Y": campus_y, "Python": python, "Go": go}


def values(table):
    return [[cell.value for cell in row] for row in table.rows]


def test_salesperson_sees_only_their_own_figures(sales, school):
    board = reports.dashboard(sales)
    assert values(board.table("sources")) == [
        ["website", 2, 1, Decimal("50.0")],
        [reports.NO_SOURCE, 1, 0, Decimal("0.0")],
        ["referral", 1, 0, Decimal("0.0")],
    ]
    assert values(board.table("months")) == [
        ["September 2026", 2, 1, Decimal("50.0")],
        ["October 2026", 2, 0, Decimal("0.0")],
    ]
    assert values(board.table("funnel")) == [["new", 1], ["following", 1], ["enrolled", 1], ["lost", 1]]
    assert board.table("salespeople") is None and board.table("payments") is None


def test_manager_sees_everyone_and_conversion_by_salesperson(manager, sales, other_sales, school):
    board = reports.dashboard(manager)
    assert values(board.table("sources"))[0] == ["website", 3, 2, Decimal("66.7")]
    by_person = {row[0]: row[1:] for row in values(board.table("salespeople"))}
    name = lambda user: f"{user.first_name} {user.last_name}".strip() or user.username  # noqa: E731
    assert by_person == {name(sales): [4, 1, Decimal("25.0")], name(other_sales): [2, 1, Decimal("50.0")]}
    assert values(board.table("payments")) == [
        ["October 2026", "Python", 1, Decimal("16800.00")],
        ["September 2026", "Python", 1, Decimal("9800.00")],
    ]


@pytest.mark.parametrize(
    ("filters", "funnel_total", "sources"),
    [
        ({"date_from": datetime.date(2026, 10, 1)}, 2, [[reports.NO_SOURCE, 1], ["referral", 1]]),
        ({"date_to": datetime.date(2026, 9, 10)}, 1, [["website", 1]]),  # the end day is included
        ({"branch": "X"}, 2, [["website", 2]]),
        ({"course": "Python"}, 1, [["website", 1]]),
    ],
)
def test_filters_narrow_every_figure(sales, school, filters, funnel_total, sources):
    filters = {key: school.get(value, value) if isinstance(value, str) else value for key, value in filters.items()}
    board = reports.dashboard(sales, reports.Filters(**filters))
    assert sum(row[1].value for row in board.table("funnel").rows) == funnel_total
    assert [row[:2] for row in values(board.table("sources"))] == sources


def test_an_empty_range_divides_by_nothing(manager, school):
    board = reports.dashboard(manager, reports.Filters(date_from=datetime.date(2030, 1, 1)))
    assert board.table("sources").rows == [] and board.table("months").rows == []
    assert values(board.table("funnel")) == [["new", 0], ["following", 0], ["enrolled", 0], ["lost", 0]]
    assert board.table("payments").rows == []
    assert reports.rate(0, 0) is None


@pytest.mark.parametrize("who", ["sales", "manager"])
@pytest.mark.parametrize("query", [{}, {"date_from": "2026-09-01", "branch": "X"}, {"course": "Python"}])
def test_numbers_link_to_the_rows_they_count(client_for, sales, manager, other_sales, school, who, query):
    # A colleague's lead shared with the salesperson: they reach it, but it is its owner's figure.
    shared = Customer.objects.filter(consultant=other_sales).first()
    leads_service.customer_share(customers=[shared], with_user=sales, by=manager)
    query = {key: school[value].pk if value in school else value for key, value in query.items()}
    client = client_for({"sales": sales, "manager": manager}[who])
    board = client.get(reverse("admin:index"), query).context["dashboard"]
    tables = ["sources", "months", "funnel"] + (["salespeople", "payments"] if who == "manager" else [])
    cells = [cell for key in tables for row in board.table(key).rows for cell in row if cell.url]
    cells += [cell for cell in board.payments_this_month if cell.url][:1]
    assert cells
    for cell in cells:
        listed = client.get(cell.url)
        assert listed.status_code == 200, cell.url
        assert listed.context["cl"].result_count == cell.value, cell.url


def _rows(client, url) -> set[int]:
    """The ids of the rows an admin list shows at `url`."""
    response = client.get(url)
    assert response.status_code == 200, url
    return {row.pk for row in response.context["cl"].result_list}


def _lead_key(table_key, customer):
    """The row of a lead table a lead is counted in."""
    if table_key == "sources":
        return dict(Customer.Source.choices).get(customer.source, reports.NO_SOURCE)
    if table_key == "months":
        return date_format(timezone.localtime(customer.created_at), "YEAR_MONTH_FORMAT")
    if table_key == "funnel":
        return customer.get_status_display()
    consultant = customer.consultant
    return f"{consultant.first_name} {consultant.last_name}".strip() or consultant.username


@pytest.mark.parametrize("who", ["sales", "manager"])
@pytest.mark.parametrize(
    "query", [{}, {"date_from": "2026-09-01", "date_to": "2026-10-06", "branch": "X"}, {"course": "Python"}]
)
def test_each_link_shows_exactly_the_rows_its_figure_counts(
    client_for, sales, manager, other_sales, school, who, query
):
    # The salesperson table's rows are labelled by name: made unique (the factory's Faker names can repeat).
    for n, person in enumerate(type(sales).objects.order_by("pk")):
        type(sales).objects.filter(pk=person.pk).update(last_name=f"No{n}")
    # A lead shared with the salesperson (its owner's figure) and an archived one (still a lead that came in).
    leads_service.customer_share(
        customers=[Customer.objects.filter(consultant=other_sales).first()], with_user=sales, by=manager
    )
    leads_service.customers_archive(customers=Customer.objects.filter(status=Status.LOST), by=manager)
    factories.PaymentFactory(
        customer=Customer.objects.get(status=Status.LOST), course=school["Go"], paid_at=timezone.now()
    )
    user = {"sales": sales, "manager": manager}[who]
    query = {key: school[value].pk if value in school else value for key, value in query.items()}
    client = client_for(user)
    board = client.get(reverse("admin:index"), query).context["dashboard"]
    counted = list(reports.leads(user, board.filters).select_related("consultant"))
    assert counted

    for key in ["sources", "months", "funnel"] + (["salespeople"] if who == "manager" else []):
        for label, *cells in board.table(key).rows:
            row = {lead for lead in counted if _lead_key(key, lead) == str(label.value)}
            assert _rows(client, cells[0].url) == {lead.pk for lead in row}, (key, label.value)
            if key != "funnel":
                enrolled = {lead.pk for lead in row if lead.status == Status.ENROLLED}
                assert _rows(client, cells[1].url) == enrolled, (key, label.value)

    payments = reports.payments(user, board.filters).select_related("course")
    if who == "manager":
        for month, course, count, _total in board.table("payments").rows:
            month_of = lambda payment: date_format(timezone.localtime(payment.paid_at), "YEAR_MONTH_FORMAT")  # noqa: E731
            row = {p.pk for p in payments if (month_of(p), p.course.name) == (month.value, course.value)}
            assert _rows(client, count.url) == row, (month.value, course.value)
    today = timezone.localdate()
    this_month = reports.payments(user, reports.Filters()).filter(paid_at__month=today.month, paid_at__year=today.year)
    assert _rows(client, board.payments_this_month[0].url) == set(this_month.values_list("pk", flat=True)) != set()


def test_the_dashboard_filter_never_widens_row_access(client_for, sales, other_sales, manager, school):
    theirs = Customer.objects.filter(consultant=other_sales)
    leads_service.customer_share(customers=[theirs.first()], with_user=sales, by=manager)
    client = client_for(sales)
    customers, payments = reverse("admin:crm_customer_changelist"), reverse("admin:crm_payment_changelist")
    own = set(Customer.objects.filter(consultant=sales).values_list("pk", flat=True))
    own_payments = set(Payment.objects.filter(customer__consultant=sales).values_list("pk", flat=True))
    # Another's campus, course, a colleague's id or a manager's wish: the salesperson's own rows, or fewer.
    for query in [
        {"dashboard": 1},
        {"dashboard": 1, "branch": school["X"].pk, "course": school["Python"].pk},
        {"dashboard": 1, "consultant__id__exact": other_sales.pk},
        {"dashboard": "all", "branch": 999999, "date_from": "not a date"},
    ]:
        assert _rows(client, f"{customers}?{urlencode(query)}&archived=all") <= own, query
        assert _rows(client, f"{payments}?{urlencode(query)}") <= own_payments, query
    assert _rows(client, f"{customers}?dashboard=1&archived=all") == own  # the shared lead is its owner's figure
    assert theirs.first().pk in _rows(client, customers)  # ...but stays on the salesperson's list without it
    # The dashboard's old hand-built lookup is no longer let through.
    assert client.get(f"{payments}?customer__consultant__id__exact={other_sales.pk}").status_code == 400


def test_the_list_keeps_the_dashboards_filter_when_narrowed(client_for, sales, school):
    url = reverse("admin:crm_customer_changelist") + f"?dashboard=1&date_from=2026-09-01&branch={school['X'].pk}"
    page = client_for(sales).get(url).content.decode()
    for name, value in [("dashboard", "1"), ("date_from", "2026-09-01"), ("branch", school["X"].pk)]:
        assert f'<input type="hidden" name="{name}" value="{value}">' in page  # submitted with the filter bar


def test_a_shared_lead_stays_its_owners_figure(sales, other_sales, manager, school):
    before = values(reports.dashboard(sales).table("funnel"))
    shared = Customer.objects.filter(consultant=other_sales).first()
    leads_service.customer_share(customers=[shared], with_user=sales, by=manager)
    assert values(reports.dashboard(sales).table("funnel")) == before


def test_payments_this_month_counts_the_users_customers(sales, other_sales, school):
    mine = factories.CustomerFactory(consultant=sales)
    factories.PaymentFactory(customer=mine, amount=Decimal("100.00"), paid_at=timezone.now())
    factories.PaymentFactory(customer=factories.CustomerFactory(consultant=other_sales), paid_at=timezone.now())
    count, total = reports.dashboard(sales).payments_this_month
    assert (count.value, total.value) == (1, Decimal("100.00"))


def test_each_table_exports_as_csv_with_the_same_filters(client_for, sales, school):
    client = client_for(sales)
    response = client.get(reverse("admin:dashboard_export", args=["sources"]), {"date_from": "2026-10-01"})
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines == ["source,leads,enrolled,conversion (%)", "(no source),1,0,0.0", "referral,1,0,0.0"]
    assert client.get(reverse("admin:dashboard_export", args=["salespeople"])).status_code == 404


def test_dashboard_page_shows_charts_and_tables(client_for, manager, school):
    page = client_for(manager).get(reverse("admin:index")).content.decode()
    assert 'id="chart-sources"' in page and "js/Chart.min.js" in page
    assert "66.7" in page and "Conversion by salesperson" in page


def test_teacher_sees_classes_and_homework_to_grade(client, teacher, other_teacher):
    mine = factories.ClassGradeFactory()
    mine.teachers.add(teacher)
    theirs = factories.ClassGradeFactory()
    theirs.teachers.add(other_teacher)
    student = factories.StudentFactory()
    student.classes.add(mine, theirs)
    today = timezone.localdate()
    held = factories.CourseRecordFactory(class_grade=mine, teacher=teacher, day_num=1, date=today, title="Intro")
    factories.CourseRecordFactory(class_grade=mine, teacher=teacher, day_num=2, date=today + datetime.timedelta(7))
    factories.StudyRecordFactory(student=student, course_record=held, homework_file="homework/a.zip", score="")
    other_lesson = factories.CourseRecordFactory(class_grade=theirs, teacher=other_teacher, day_num=1)
    factories.StudyRecordFactory(student=student, course_record=other_lesson, homework_file="homework/b.zip")

    board = reports.dashboard(teacher)
    assert values(board.table("classes")) == [[mine, 1, 1, 2]]
    client.force_login(teacher)
    held = board.table("classes").rows[0][2]
    assert client.get(held.url).context["cl"].result_count == held.value
    to_grade = board.table("homework").rows[0][2]
    assert client.get(to_grade.url).context["cl"].result_count == to_grade.value == 1
    homework = values(board.table("homework"))
    assert homework == [[f"{mine.course.name}, semester {mine.semester}", "1. Intro", 1]]
    assert board.table("sources") is None


def test_query_count_does_not_grow_with_the_data(manager, sales, school):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            reports.dashboard(manager)
            reports.dashboard(sales)
        return len(captured)

    queries()  # the users' permission caches fill on the first run
    before = queries()
    for n in range(30):
        customer = factories.CustomerFactory(consultant=sales, source=Source.WALK_IN if n % 2 else Source.OTHER)
        factories.FollowUpFactory(customer=customer)
        factories.PaymentFactory(customer=customer, paid_at=at(f"2026-0{1 + n % 9}-15"))
    assert queries() == before
