"""Issue 18, point 11: the top bar's one search finds, per role, what the person may reach and never what they may
not: customers by name, phone in any spelling, QQ and WeChat; students; classes; enrollments."""

import pytest
from django.urls import reverse

from crm import search
from crm.services import enrollment as enrollments
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def school(sales, other_sales, teacher):
    mine = factories.CustomerFactory(
        consultant=sales, name="Zhang Wei", phone="+8613911112222", qq="3456789", wechat="zw_wechat"
    )
    theirs = factories.CustomerFactory(consultant=other_sales, name="Zhang Li", phone="+8613933334444", qq="9876543")
    taught = factories.ClassGradeFactory(course__name="Python Web")
    taught.teachers.add(teacher)
    not_taught = factories.ClassGradeFactory(course__name="Rust Systems")
    my_student = factories.StudentFactory(customer=factories.CustomerFactory(consultant=sales, name="Zhang San"))
    my_student.classes.add(taught)
    other_student = factories.StudentFactory(
        customer=factories.CustomerFactory(consultant=other_sales, name="Zhang Si")
    )
    other_student.classes.add(not_taught)
    enrollment = enrollments.enrollment_start(customer=mine, class_grade=not_taught, by=sales)
    return locals()


def found(user, query) -> dict[str, list[str]]:
    return {group.key: [hit.label for hit in group.hits] for group in search.search(user, query)}


@pytest.mark.parametrize("spelling", ["139 1111 2222", "+86 139-1111-2222", "8613911112222", "1111 2222", "zhang wei"])
def test_a_salesperson_finds_their_customer_however_the_phone_is_written(sales, school, spelling):
    assert found(sales, spelling)["customers"] == ["Zhang Wei"]


def test_a_salesperson_finds_by_qq_and_wechat_and_their_enrollments(sales, school):
    assert found(sales, "3456789")["customers"] == ["Zhang Wei"]
    assert found(sales, "ZW_WeChat")["customers"] == ["Zhang Wei"]
    assert found(sales, "Zhang Wei")["enrollments"] == [str(school["enrollment"])]


def test_a_salesperson_never_finds_anothers(sales, school):
    for query in ["Zhang Li", "+8613933334444", "139 3333 4444", "9876543", "Zhang Si"]:
        assert found(sales, query) == {}
    assert "Zhang Li" not in str(found(sales, "Zhang"))
    assert "students" not in found(sales, "Zhang")  # salespeople have no student list; their customers are enough


def test_a_manager_finds_everyones(manager, school):
    result = found(manager, "Zhang")
    assert set(result["customers"]) == {"Zhang Wei", "Zhang Li", "Zhang San", "Zhang Si"}
    assert found(manager, "139 3333 4444")["customers"] == ["Zhang Li"]


def test_a_teacher_finds_their_classes_and_students_only(teacher, school):
    result = found(teacher, "Zhang")
    assert result == {"students": ["Zhang San"]}
    assert found(teacher, "Python") == {"classes": [str(school["taught"])]}
    assert found(teacher, "Rust") == {} and found(teacher, "139 3333 4444") == {}


def test_a_school_admin_finds_everything(school_admin, school):
    result = found(school_admin, "Zhang")
    assert set(result) == {"customers", "students", "enrollments"}
    assert set(result["students"]) == {"Zhang San", "Zhang Si"}
    assert found(school_admin, "Rust")["classes"] == [str(school["not_taught"])]


def test_each_group_is_a_few_rows_in_one_query(manager, sales, django_assert_max_num_queries):
    for n in range(8):
        factories.CustomerFactory(consultant=sales, name=f"Li Lei {n}")
    with django_assert_max_num_queries(len(search.SOURCES) + 2):
        groups = search.search(manager, "Li Lei")
    (customers,) = groups
    assert len(customers.hits) == search.PER_GROUP and "q=Li+Lei" in customers.more_url


def test_the_page_links_each_row_and_opens_for_every_role(client_for, teacher, sales, school):
    page = client_for(teacher).get(reverse("admin:search"), {"q": "Zhang"})
    assert page.status_code == 200
    body = page.content.decode()
    assert reverse("admin:crm_student_change", args=[school["my_student"].pk]) in body and "Zhang Si" not in body
    page = client_for(sales).get(reverse("admin:search"), {"q": "x"})
    assert page.status_code == 200 and page.context["groups"] == []


def test_students_and_anonymous_are_sent_to_sign_in(client, student_user):
    assert client.get(reverse("admin:search"), {"q": "Zhang"}).status_code == 302
    client.force_login(student_user)
    assert client.get(reverse("admin:search"), {"q": "Zhang"}).status_code == 302


def test_a_pooled_lead_is_found_by_managers_not_by_salespeople(sales, manager, school):
    factories.CustomerFactory(consultant=None, name="Pooled Zhou", phone="+8613955556666")
    assert found(sales, "Pooled Zhou") == {} and found(sales, "139 5555 6666") == {}
    assert found(manager, "139 5555 6666")["customers"] == ["Pooled Zhou"]
