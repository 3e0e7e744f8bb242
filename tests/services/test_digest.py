"""The morning digest: one email per salesperson with their calls to make and new web leads, theirs only."""

import datetime

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm import roles
from crm.models import Customer, StaffProfile
from crm.services import digest as digests
from tests import factories

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def emails_leave_at_once(monkeypatch, django_capture_on_commit_callbacks):
    """Emails leave once the sending transaction commits (crm.emails); here each run's commit is the test's."""
    send = digests.digest_send_all

    def send_and_commit():
        with django_capture_on_commit_callbacks(execute=True):
            return send()

    monkeypatch.setattr(digests, "digest_send_all", send_and_commit)


def lead(owner, name, due=None, **fields):
    customer = factories.CustomerFactory(consultant=owner, name=name, source=Customer.Source.REFERRAL, **fields)
    if due is not None:
        factories.FollowUpFactory(customer=customer, next_follow_up=due, content=f"Call {name} back.")
    return customer


def digest_to(user) -> mail.EmailMultiAlternatives:
    [email] = [email for email in mail.outbox if email.to == [user.email]]
    return email


def html(email) -> str:
    [(body, kind)] = email.alternatives
    assert kind == "text/html"
    return body


def test_a_digest_lists_calls_due_today_and_overdue(sales, settings):
    settings.PUBLIC_BASE_URL = "https://crm.school.example/"
    today = lead(sales, "Today Tina", TODAY)
    lead(sales, "Late Lou", TODAY - 3 * DAY)
    lead(sales, "Later Larry", TODAY + DAY)
    kept = lead(sales, "Kept Karl", TODAY - 3 * DAY)
    factories.FollowUpFactory(customer=kept, next_follow_up=TODAY + 2 * DAY)  # the latest follow-up counts

    assert digests.digest_send_all() == 1

    email = digest_to(sales)
    assert email.subject.startswith(f"{settings.SCHOOL_NAME}: your follow-ups for ")
    text = email.body
    assert "You have 2 calls to make today." in text
    due_today, overdue = text.index("Due today (1)"), text.index("Overdue (1)")
    assert due_today < text.index("Today Tina") < overdue < text.index("Late Lou")
    assert "Call Late Lou back." in text and "due " in text[overdue:]
    assert "Later Larry" not in text and "Kept Karl" not in text
    assert f"https://crm.school.example/admin/crm/customer/{today.pk}/change/" in text
    page = html(email)
    assert 'id="due_today"' in page and 'id="overdue"' in page and "Today Tina" in page and "Late Lou" in page
    assert f'href="https://crm.school.example/admin/crm/customer/{today.pk}/change/"' in page


def test_lost_archived_and_enrolled_customers_are_never_overdue(sales):
    lead(sales, "Lost Lily", TODAY - 3 * DAY, status=Customer.Status.LOST)
    lead(sales, "Archived Arthur", TODAY - 3 * DAY, archived_at=timezone.now())
    lead(sales, "Enrolled Emma", TODAY - 3 * DAY, status=Customer.Status.ENROLLED)
    lead(sales, "Lost Today Lena", TODAY, status=Customer.Status.LOST)
    lead(sales, "Late Lou", TODAY - 3 * DAY)

    digests.digest_send_all()

    text = digest_to(sales).body
    assert "Late Lou" in text
    for name in ("Lost Lily", "Archived Arthur", "Enrolled Emma", "Lost Today Lena"):
        assert name not in text


def test_nobody_reads_another_salespersons_leads(sales, other_sales, manager):
    lead(sales, "Mine Mia", TODAY)
    theirs = lead(other_sales, "Theirs Theo", TODAY - DAY)
    factories.CustomerFactory(consultant=other_sales, name="Their Web Lead", source=Customer.Source.WEBSITE)
    lead(manager, "Managers Max", TODAY)
    from crm.services import leads

    leads.customer_share(customers=[theirs], with_user=sales, by=manager)  # shared with sales: still B's to call

    digests.digest_send_all()

    assert sorted(email.to[0] for email in mail.outbox) == sorted(u.email for u in (sales, other_sales, manager))
    mine = digest_to(sales)
    assert "Mine Mia" in mine.body and "Mine Mia" in html(mine)
    for email in mail.outbox:
        others = {"Mine Mia", "Theirs Theo", "Their Web Lead", "Managers Max"} - {
            sales.email: {"Mine Mia"},
            other_sales.email: {"Theirs Theo", "Their Web Lead"},
            manager.email: {"Managers Max"},
        }[email.to[0]]
        assert not [name for name in others if name in email.body or name in html(email)], email.to


def test_new_web_leads_since_the_last_digest(sales):
    new = factories.CustomerFactory(
        consultant=sales, name="Web Wendy", content="Evening classes?", channel="src=poster"
    )
    new.consult_courses.add(factories.CourseFactory(name="Python Full Stack"))
    old = factories.CustomerFactory(consultant=sales, name="Old Oscar")
    Customer.objects.filter(pk=old.pk).update(created_at=timezone.now() - 2 * DAY)  # before the first digest's day
    factories.CustomerFactory(consultant=sales, name="Walk-in Will", source=Customer.Source.WALK_IN)

    digests.digest_send_all()

    text = digest_to(sales).body
    assert "New web leads for you (1)" in text and "Web Wendy" in text
    assert "asked about Python Full Stack · Evening classes? · src=poster" in text
    assert "Old Oscar" not in text and "Walk-in Will" not in text
    assert "You have 0 calls to make today." in text

    # The next run: Wendy is not new any more, and there is nothing else to say, so no email.
    mail.outbox.clear()
    assert digests.digest_send_all() == 0 and mail.outbox == []
    later = factories.CustomerFactory(consultant=sales, name="Later Lisa")
    digests.digest_send_all()
    assert "Later Lisa" in digest_to(sales).body and "Web Wendy" not in digest_to(sales).body
    assert StaffProfile.objects.get(user=sales).digest_sent_at >= later.created_at


def test_nothing_to_report_sends_nothing(sales, other_sales, teacher):
    lead(sales, "Later Larry", TODAY + DAY)
    assert digests.digest_send_all() == 0
    assert mail.outbox == []


def test_a_digest_is_in_the_salespersons_language(sales, other_sales):
    StaffProfile.objects.create(user=sales, language="zh-hans")
    lead(sales, "Today Tina", TODAY)
    lead(sales, "Late Lou", TODAY - DAY)
    lead(other_sales, "Other Otto", TODAY)

    digests.digest_send_all()

    chinese, english = digest_to(sales), digest_to(other_sales)
    assert "今天到期 (1)" in chinese.body and "已逾期 (1)" in chinese.body and "今天到期" in html(chinese)
    assert 'lang="zh-hans"' in html(chinese)
    assert f"{TODAY.year}年" in chinese.subject  # dates in Chinese form
    assert "Due today (1)" in english.body and 'lang="en"' in html(english)


def test_long_lists_are_cut_and_link_to_the_rest(sales, settings, monkeypatch):
    monkeypatch.setattr(digests, "ROWS_SHOWN", 3)
    for n in range(5):
        lead(sales, f"Late {n}", TODAY - DAY)
    digests.digest_send_all()
    text = digest_to(sales).body
    overdue_list = f"http://127.0.0.1:8000/admin/crm/followup/?due=overdue&customer__consultant__id__exact={sales.pk}"
    assert f"Overdue (5): {overdue_list}" in text and text.count("Call Late") == 3 and "And 2 more." in text
    assert "And 2 more." in html(digest_to(sales))


def test_the_overdue_link_opens_the_same_list(client, sales):
    lead(sales, "Late Lou", TODAY - DAY)
    lead(sales, "Today Tina", TODAY)
    digests.digest_send_all()
    link = next(line for line in digest_to(sales).body.splitlines() if "due=overdue" in line)
    link = link[link.index("/admin/") :]
    client.force_login(sales)
    page = client.get(link).content.decode()
    assert "Late Lou" in page and "Today Tina" not in page


def test_queries_do_not_grow_with_leads(make_user):
    def run() -> int:
        StaffProfile.objects.update(digest_sent_at=None)
        mail.outbox.clear()
        with CaptureQueriesContext(connection) as queries:
            digests.digest_send_all()
        return len(queries)

    def add(person, n):
        lead(person, f"Late {n}", TODAY - DAY)
        lead(person, f"Today {n}", TODAY)
        factories.CustomerFactory(consultant=person).consult_courses.add(factories.CourseFactory())

    people = [make_user(roles.SALES, f"sales-{n}") for n in range(3)]
    for person in people:
        add(person, 0)
    few = run()
    for person in people:
        for n in range(1, 30):
            add(person, n)
    many = run()
    assert len(mail.outbox) == 3
    assert many == few
    assert few <= 4 + 14 * len(people)


def test_the_command_sends_and_says_how_many(sales, capsys):
    lead(sales, "Today Tina", TODAY)
    call_command("send_follow_up_digest")
    assert "Follow-up digests sent: 1" in capsys.readouterr().out
    assert len(mail.outbox) == 1


def test_a_digest_names_the_leads_returned_to_the_pool_with_their_phones_masked(sales, other_sales, manager):
    from crm.phones import mask_phone
    from crm.services import pool

    gone = lead(sales, "Gone Gina", phone="+8613800138000")
    pool.pool_release(customer=gone, reason="moved to another city", by=manager)
    theirs = lead(other_sales, "Other Olga")
    pool.pool_release(customer=theirs, reason="not answering", by=manager)

    digests.digest_send_all()

    text = digest_to(sales).body
    assert "Returned from you to the lead pool (1)" in text
    assert "Gone Gina" in text and mask_phone(gone.phone) in text and "moved to another city" in text
    assert "13800138000" not in text and "138 0013 8000" not in text  # no longer theirs: the number stays masked
    assert "Other Olga" not in text
    assert "/admin/crm/poolcustomer/" in html(digest_to(sales))
