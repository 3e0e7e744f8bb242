"""List pages run the same number of queries whether they show 5 rows or 100."""

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from tests import factories

pytestmark = pytest.mark.django_db


def queries_for(client, django_assert_max_num_queries, url, limit):
    cache.clear()  # every measured request counts the top bar's calls to make (kept a minute once counted)
    with django_assert_max_num_queries(limit) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("who", ["sales", "manager"])
@pytest.mark.parametrize("model", ["customer", "followup", "enrollment", "payment"])
def test_changelist_queries_do_not_grow_with_rows(client, django_assert_max_num_queries, sales, manager, who, model):
    client.force_login({"sales": sales, "manager": manager}[who])
    url = reverse(f"admin:crm_{model}_changelist") + "?all="  # every row on one page

    def add_rows(n):
        for _ in range(n):
            customer = factories.CustomerFactory(consultant=sales)
            factories.FollowUpFactory(customer=customer)
            factories.EnrollmentFactory(customer=customer)
            factories.PaymentFactory(customer=customer)

    add_rows(5)
    small = queries_for(client, django_assert_max_num_queries, url, 40)
    add_rows(95)
    large = queries_for(client, django_assert_max_num_queries, url, small)
    assert large == small


@pytest.mark.parametrize("model", ["classgrade", "courserecord", "studyrecord"])
def test_teacher_lists_queries_do_not_grow_with_rows(client, django_assert_max_num_queries, teacher, model):
    """The teacher's classes, lessons, and the editable attendance-and-grades list (one form per row)."""
    client.force_login(teacher)
    url = reverse(f"admin:crm_{model}_changelist") + "?all="

    def add_rows(classes, students):
        for _ in range(classes):
            class_grade = factories.ClassGradeFactory()
            class_grade.teachers.add(teacher)
            lesson = factories.CourseRecordFactory(class_grade=class_grade, teacher=teacher)
            for _ in range(students):
                student = factories.StudentFactory()
                student.classes.add(class_grade)
                factories.StudyRecordFactory(student=student, course_record=lesson)

    add_rows(2, 2)
    small = queries_for(client, django_assert_max_num_queries, url, 40)
    add_rows(8, 5)
    large = queries_for(client, django_assert_max_num_queries, url, small)
    assert large == small


@pytest.mark.parametrize("who", ["sales", "manager"])
def test_pool_list_queries_do_not_grow_with_rows(client, django_assert_max_num_queries, sales, manager, who):
    """Courses, campus, previous owner and the last follow-up of every pooled lead, in a fixed number of queries."""
    client.force_login({"sales": sales, "manager": manager}[who])
    url = reverse("admin:crm_poolcustomer_changelist") + "?all="

    def add_rows(n):
        for _ in range(n):
            lead = factories.CustomerFactory(
                consultant=None, previous_consultant=sales, pooled_at=timezone.now(), branch=factories.BranchFactory()
            )
            lead.consult_courses.add(factories.CourseFactory())
            factories.FollowUpFactory(customer=lead, consultant=sales)
            factories.FollowUpFactory(customer=lead, consultant=manager)

    add_rows(5)
    small = queries_for(client, django_assert_max_num_queries, url, 40)
    add_rows(95)
    large = queries_for(client, django_assert_max_num_queries, url, small)
    assert large == small
