"""The lead pool's rules: which leads return, who may claim what and how often, and that every move is recorded."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from crm import school_time, selectors
from crm.models import Customer, CustomerUserObjectPermission, Enrollment, PoolMove, PoolReason
from crm.services import leads, pool
from tests import factories

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def idle_lead(owner, days=20, **fields):
    """A lead its owner got `days` ago and has not touched since."""
    customer = factories.CustomerFactory(consultant=owner, **fields)
    Customer.objects.filter(pk=customer.pk).update(assigned_at=timezone.now() - days * DAY)
    customer.history.update(history_date=timezone.now() - days * DAY)
    customer.refresh_from_db()
    return customer


def pooled_lead(previous=None, days_ago=1, **fields):
    """A lead in the pool since `days_ago`, returned from `previous`."""
    return factories.CustomerFactory(
        consultant=None,
        previous_consultant=previous,
        pooled_at=timezone.now() - days_ago * DAY,
        pool_reason=PoolReason.IDLE,
        **fields,
    )


def follow_up(customer, by, days_ago=0):
    made = factories.FollowUpFactory(customer=customer, consultant=by)
    made.__class__.objects.filter(pk=made.pk).update(created_at=timezone.now() - days_ago * DAY)
    return made


# --- returning idle leads -------------------------------------------------------------------------------------


def test_idle_leads_return_with_their_owner_kept_and_a_reason(sales):
    lead = idle_lead(sales, days=16)

    assert pool.pool_return_idle() == 1

    lead.refresh_from_db()
    assert lead.consultant is None and lead.previous_consultant == sales
    assert lead.pool_reason == PoolReason.IDLE and lead.pooled_at is not None
    last = lead.history.latest("history_date")
    assert last.history_change_reason == "Returned to the pool: idle 15 days"
    assert last.consultant_id is None and last.previous_consultant_id == sales.pk and last.history_user is None
    move = PoolMove.objects.get(customer=lead)
    assert (move.kind, move.from_user, move.to_user, move.by) == (PoolMove.Kind.RETURNED, sales, None, None)


def test_what_keeps_a_lead_with_its_owner(sales, manager):
    idle = idle_lead(sales)
    fresh = idle_lead(sales, days=3)  # got it three days ago
    followed_up = idle_lead(sales)
    follow_up(followed_up, sales, days_ago=2)
    followed_up_long_ago = idle_lead(sales)
    follow_up(followed_up_long_ago, sales, days_ago=30)
    shared_follow_up = idle_lead(sales)  # a colleague working on it counts too: somebody works on the lead
    follow_up(shared_follow_up, manager, days_ago=1)
    changed = idle_lead(sales)
    changed.name = "Changed by the owner"
    leads.customer_save(customer=changed, by=sales)
    changed_by_manager = idle_lead(sales)  # the owner's own change is what counts
    changed_by_manager.name = "Changed by the manager"
    leads.customer_save(customer=changed_by_manager, by=manager)
    enrolled = idle_lead(sales, status=Customer.Status.ENROLLED)
    student = factories.StudentFactory(customer=idle_lead(sales, status=Customer.Status.FOLLOWING)).customer
    in_progress = {}
    for status in Enrollment.Status:
        in_progress[status] = idle_lead(sales)
        factories.EnrollmentFactory(customer=in_progress[status], status=status)
    lost = idle_lead(sales, status=Customer.Status.LOST)
    archived = idle_lead(sales, archived_at=timezone.now() - 30 * DAY)

    pool.pool_return_idle()

    returned = set(Customer.objects.filter(consultant__isnull=True).values_list("pk", flat=True))
    expected = {idle, followed_up_long_ago, changed_by_manager, in_progress[Enrollment.Status.REJECTED], lost}
    assert returned == {c.pk for c in expected}
    for stays in (fresh, followed_up, shared_follow_up, changed, enrolled, student, archived):
        assert stays.pk not in returned
    for status in (Enrollment.Status.LINK_SENT, Enrollment.Status.SUBMITTED, Enrollment.Status.APPROVED):
        assert in_progress[status].pk not in returned


def test_a_lead_assigned_recently_is_not_idle_however_old(sales, manager, other_sales):
    lead = idle_lead(sales, days=40)
    leads.customer_reassign(customer=lead, to=other_sales, by=manager)
    assert pool.pool_return_idle() == 0


def test_the_idle_days_come_from_the_settings_and_the_command(settings, sales):
    settings.POOL_IDLE_DAYS = 30
    lead = idle_lead(sales, days=20)
    assert pool.pool_return_idle() == 0
    call_command("return_to_pool", "--days", "10", stdout=open("/dev/null", "w"))
    lead.refresh_from_db()
    assert lead.consultant is None
    assert lead.history.latest("history_date").history_change_reason == "Returned to the pool: idle 10 days"


def test_returning_ends_shares_and_a_share_never_reaches_a_pooled_lead(sales, other_sales, manager):
    from crm import access

    lead = idle_lead(sales)
    leads.customer_share(customers=[lead], with_user=other_sales, by=manager)
    assert access.can_reach(other_sales, lead)
    pool.pool_return_idle()
    assert not CustomerUserObjectPermission.objects.filter(content_object=lead).exists()
    assert not access.can_reach(other_sales, lead) and not access.can_reach(sales, lead)


def test_return_is_a_fixed_number_of_statements(sales, django_assert_max_num_queries):
    for _ in range(3):
        idle_lead(sales)
    with django_assert_max_num_queries(12) as few:
        pool.pool_return_idle()
    for _ in range(30):
        idle_lead(sales)
    with django_assert_max_num_queries(len(few)):
        assert pool.pool_return_idle() == 30
    assert Customer.history.filter(history_change_reason__startswith="Returned").count() == 33


# --- claiming -------------------------------------------------------------------------------------------------


def test_a_claim_makes_the_salesperson_the_owner(sales):
    lead = pooled_lead()
    pool.pool_claim(customer=lead, by=sales)
    lead.refresh_from_db()
    assert lead.consultant == sales and lead.assigned_at is not None
    last = lead.history.latest("history_date")
    assert (last.history_change_reason, last.history_user, last.consultant_id) == (
        "Claimed from the pool",
        sales,
        sales.pk,
    )
    assert PoolMove.objects.filter(kind=PoolMove.Kind.CLAIMED, to_user=sales, customer=lead).count() == 1


def test_a_claimed_lead_cannot_be_claimed_again(sales, other_sales):
    lead = pooled_lead(name="Wang Fang")
    pool.pool_claim(customer=lead, by=sales)
    with pytest.raises(ValidationError) as refused:
        pool.pool_claim(customer=lead, by=other_sales)
    assert refused.value.code == "taken"
    assert refused.value.messages == [f"Wang Fang was claimed by {sales.get_full_name()} a moment ago."]


def test_the_daily_limit_counts_the_schools_day(settings, sales):
    settings.POOL_CLAIMS_PER_DAY = 2
    first, second, third = pooled_lead(), pooled_lead(), pooled_lead(name="")
    pool.pool_claim(customer=first, by=sales)
    pool.pool_claim(customer=second, by=sales)
    with pytest.raises(ValidationError) as refused:
        pool.pool_claim(customer=third, by=sales)
    assert refused.value.code == "claim_limit"
    assert "You have claimed 2 leads today" in refused.value.messages[0]
    assert "****" in refused.value.messages[0]  # a lead without a name is named by its masked phone
    # Yesterday's claims (in Shanghai: 00:30 today there is yesterday in UTC) do not count.
    midnight = school_time.day_start(timezone.now())
    PoolMove.objects.update(at=midnight - datetime.timedelta(minutes=1))
    pool.pool_claim(customer=third, by=sales)


def test_a_released_lead_does_not_count_against_the_limit_twice(settings, sales, manager):
    settings.POOL_CLAIMS_PER_DAY = 1
    lead = pooled_lead()
    pool.pool_claim(customer=lead, by=sales)
    pool.pool_release(customer=lead, reason="wrong campus", by=manager)
    with pytest.raises(ValidationError):
        pool.pool_claim(customer=pooled_lead(), by=sales)  # the day's one claim was made, whatever became of it
    assert pool.claims_today(sales) == 1


def test_the_previous_owner_cannot_claim_back_within_the_block(settings, sales, other_sales, manager):
    settings.POOL_RECLAIM_DAYS = 7
    recent = pooled_lead(previous=sales, days_ago=6)
    with pytest.raises(ValidationError) as refused:
        pool.pool_claim(customer=recent, by=sales)
    assert refused.value.code == "reclaim_blocked"
    assert "came back to the pool from you" in refused.value.messages[0]
    pool.pool_claim(customer=recent, by=other_sales)  # anyone else may
    pool.pool_claim(customer=pooled_lead(previous=sales, days_ago=8), by=sales)  # after the block, they may too
    pool.pool_assign(customer=pooled_lead(previous=sales, days_ago=1), to=sales, by=manager)  # a manager may


def test_only_salespeople_claim_and_only_managers_assign_and_release(sales, teacher, manager):
    with pytest.raises(PermissionDenied):
        pool.pool_claim(customer=pooled_lead(), by=teacher)
    with pytest.raises(PermissionDenied):
        pool.pool_assign(customer=pooled_lead(), to=sales, by=sales)
    with pytest.raises(PermissionDenied):
        pool.pool_release(customer=factories.CustomerFactory(consultant=sales), reason="idle", by=sales)


def test_an_archived_lead_is_not_in_the_pool(sales):
    lead = pooled_lead(archived_at=timezone.now())
    with pytest.raises(ValidationError) as refused:
        pool.pool_claim(customer=lead, by=sales)
    assert refused.value.code == "not_in_pool"


# --- managers -------------------------------------------------------------------------------------------------


def test_managers_assign_without_a_limit(settings, sales, manager):
    settings.POOL_CLAIMS_PER_DAY = 1
    leads_ = [pooled_lead() for _ in range(3)]
    for lead in leads_:
        pool.pool_assign(customer=lead, to=sales, by=manager)
    assert Customer.objects.filter(consultant=sales).count() == 3
    lead = Customer.objects.get(pk=leads_[0].pk)
    last = lead.history.latest("history_date")
    assert last.history_change_reason == f"Assigned from the pool to {sales.get_full_name()}"
    assert last.history_user == manager
    assert pool.claims_today(sales) == 0  # assignments are not the salesperson's claims
    assert PoolMove.objects.filter(kind=PoolMove.Kind.ASSIGNED, to_user=sales, by=manager).count() == 3


def test_reassigning_a_pooled_lead_from_the_customer_list_is_an_assignment(sales, manager):
    lead = pooled_lead()
    leads.customer_reassign(customer=lead, to=sales, by=manager)
    assert PoolMove.objects.get(customer=lead).kind == PoolMove.Kind.ASSIGNED


def test_managers_release_with_a_reason(sales, other_sales, manager):
    lead = factories.CustomerFactory(consultant=sales)
    leads.customer_share(customers=[lead], with_user=other_sales, by=manager)
    pool.pool_release(customer=lead, reason="  Wants the Shenzhen campus ", by=manager)
    lead.refresh_from_db()
    assert lead.consultant is None and lead.previous_consultant == sales
    assert (lead.pool_reason, lead.pool_note) == (PoolReason.RELEASED, "Wants the Shenzhen campus")
    last = lead.history.latest("history_date")
    assert last.history_change_reason == "Released to the pool: Wants the Shenzhen campus"
    assert last.history_user == manager
    move = PoolMove.objects.get(customer=lead)
    assert (move.kind, move.from_user, move.by) == (PoolMove.Kind.RELEASED, sales, manager)
    assert not CustomerUserObjectPermission.objects.filter(content_object=lead).exists()


def test_release_refuses_students_enrollments_under_way_pooled_leads_and_no_reason(sales, manager):
    enrolling = factories.CustomerFactory(consultant=sales)
    factories.EnrollmentFactory(customer=enrolling, status=Enrollment.Status.SUBMITTED)
    student = factories.StudentFactory(customer=factories.CustomerFactory(consultant=sales)).customer
    for customer, code in ((enrolling, "stays"), (student, "stays"), (pooled_lead(), "in_pool")):
        with pytest.raises(ValidationError) as refused:
            pool.pool_release(customer=customer, reason="idle", by=manager)
        assert refused.value.code == code
    with pytest.raises(ValidationError) as refused:
        pool.pool_release(customer=factories.CustomerFactory(consultant=sales), reason=" ", by=manager)
    assert refused.value.code == "reason_required"


def test_the_customer_form_cannot_move_a_lead_in_or_out_of_the_pool(sales, manager):
    owned = factories.CustomerFactory(consultant=sales)
    owned.consultant = None
    with pytest.raises(ValidationError):
        leads.customer_save(customer=owned, by=manager)
    pooled = Customer.objects.get(pk=pooled_lead().pk)
    pooled.consultant = sales
    with pytest.raises(ValidationError):
        leads.customer_save(customer=pooled, by=manager)
    pooled.consultant = None
    pooled.name = "A typo fixed"
    leads.customer_save(customer=pooled, by=manager)  # other fields of a pooled lead change as ever


def test_leads_returned_from_a_salesperson_since_a_time(sales, other_sales, manager):
    before = timezone.now()
    mine = idle_lead(sales)
    idle_lead(other_sales)
    released = factories.CustomerFactory(consultant=sales)
    pool.pool_return_idle()
    pool.pool_release(customer=released, reason="moved away", by=manager)
    assert set(selectors.pool_returns_from(sales, before)) == {mine, released}
    assert not selectors.pool_returns_from(sales, timezone.now()).exists()
