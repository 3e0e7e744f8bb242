"""Leads: customers and the follow-ups that salespeople record on them."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import UserObjectPermissionBase
from simple_history.models import HistoricalRecords

from crm.phones import PhoneNumberField

from .org import Branch, Course, Tag


class PoolReason(models.TextChoices):
    IDLE = "idle", _("left without follow-up")
    RELEASED = "released", _("released by a manager")


# Customer fields derived from its follow-ups.
FOLLOW_UP_SUMMARY = ["latest_follow_up", "next_follow_up"]


class CustomerQuerySet(models.QuerySet):
    def refresh_follow_up_summary(self) -> int:
        """Set each customer's latest follow-up and its next date from the follow-ups, in one UPDATE (any number
        of customers): the one way the summary is written, so it is exact whenever its writers call it."""
        latest = FollowUp.objects.filter(customer_id=models.OuterRef("pk")).order_by("-created_at", "-id")[:1]
        return self.order_by().update(
            latest_follow_up_id=models.Subquery(latest.values("pk")),
            next_follow_up=models.Subquery(latest.values("next_follow_up")),
        )


CustomerManager = models.Manager.from_queryset(CustomerQuerySet)


class Customer(models.Model):
    class Source(models.TextChoices):
        REFERRAL = "referral", _("referral")
        QQ_GROUP = "qq_group", _("QQ group")
        WEBSITE = "website", _("website")
        SEARCH_ADS = "search_ads", _("search ads")
        SOCIAL_MEDIA = "social_media", _("social media")
        WALK_IN = "walk_in", _("walk-in")
        OTHER = "other", _("other")

    class Status(models.TextChoices):
        NEW = "new", _("new")
        FOLLOWING = "following", _("following")
        ENROLLED = "enrolled", _("enrolled")
        LOST = "lost", _("lost")

    name = models.CharField(_("name"), max_length=64, blank=True)
    phone = PhoneNumberField(_("phone"), unique=True)
    qq = models.CharField(_("QQ"), max_length=16, blank=True)
    wechat = models.CharField(_("WeChat"), max_length=64, blank=True)
    email = models.EmailField(_("email"), blank=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.OTHER)
    # Where a web lead came from: the ?src= and utm_* parameters of the page the inquiry was sent from. The
    # database fills it in for writers that name their columns (the lead import's INSERT … SELECT).
    channel = models.CharField(_("channel"), max_length=255, blank=True, editable=False, db_default="")
    referrer = models.ForeignKey(
        "self", models.SET_NULL, null=True, blank=True, related_name="referrals", verbose_name=_("referred by")
    )
    # The campus the lead asked about; the dashboard's campus filter reads it.
    branch = models.ForeignKey(
        Branch, models.SET_NULL, null=True, blank=True, related_name="customers", verbose_name=_("campus")
    )
    consult_courses = models.ManyToManyField(
        Course, blank=True, related_name="inquiring_customers", verbose_name=_("courses of interest")
    )
    content = models.TextField(_("inquiry"), blank=True, help_text=_("What the customer asked about."))
    tags = models.ManyToManyField(Tag, blank=True, related_name="customers", verbose_name=_("tags"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.NEW)
    # No consultant: the lead is in the pool (公海), where any salesperson may claim it.
    consultant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="customers",
        verbose_name=_("consultant"),
    )
    # When the consultant got the lead (created, claimed, assigned); empty: since it was created.
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True, editable=False)
    # The lead's last stay in the pool: when it went there, why, and whose it was (who may not claim it back
    # for settings.POOL_RECLAIM_DAYS days).
    pooled_at = models.DateTimeField(_("returned to the pool at"), null=True, blank=True, editable=False)
    # Database defaults too: the bulk import inserts leads in SQL of its own.
    pool_reason = models.CharField(
        _("why it returned"),
        max_length=16,
        choices=PoolReason.choices,
        blank=True,
        default="",
        db_default="",
        editable=False,
    )
    pool_note = models.CharField(
        _("release reason"), max_length=255, blank=True, default="", db_default="", editable=False
    )
    previous_consultant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("previous consultant"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # Customers are archived, never deleted: their history, payments and documents stay, and they can come back.
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True, editable=False)
    # Kept from the follow-ups (FOLLOW_UP_SUMMARY, refreshed by Customer.objects.refresh_follow_up_summary on every
    # follow-up write): the latest follow-up and its next date, so "due today" and "overdue" read one indexed
    # column instead of anti-joining every follow-up. Model.save() never writes them (see save()).
    # Not one-to-one: a follow-up moving between customers (a merge) is briefly the latest of both.
    latest_follow_up = models.ForeignKey(
        "FollowUp",
        models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="latest_of",  # a follow-up's customer, when it is that customer's latest
        verbose_name=_("latest follow-up"),
    )
    next_follow_up = models.DateField(_("next follow-up"), null=True, blank=True, editable=False)

    objects = CustomerManager()

    # History is read per customer (its id), by date and by author. The indexes it would copy from the fields above
    # serve no query and cost every write: without them an import writes its history rows in half the time.
    history = HistoricalRecords(
        verbose_name=_("historical customer"),
        no_db_index=["phone", "referrer", "branch", "consultant", "previous_consultant", "created_at"],
        excluded_fields=FOLLOW_UP_SUMMARY,  # derived from the follow-ups, whose own history tells the story
    )

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("view_all_customers", _("Can see every customer")),
            ("reassign_customer", _("Can reassign customers to another consultant")),
            ("merge_customer", _("Can merge duplicate customers")),
            ("import_customer", _("Can import customers")),
            ("export_customer", _("Can export customers")),
            ("archive_customer", _("Can archive and restore customers")),
            ("erase_customer", _("Can erase a person's data on their request")),
            ("claim_customer", _("Can claim leads from the pool")),
        ]
        constraints = [
            # Optional contacts are unique only when given.
            models.UniqueConstraint(fields=["qq"], condition=~Q(qq=""), name="customer_unique_qq"),
            models.UniqueConstraint(fields=["wechat"], condition=~Q(wechat=""), name="customer_unique_wechat"),
            models.UniqueConstraint(fields=["email"], condition=~Q(email=""), name="customer_unique_email"),
        ]
        indexes = [
            # The owner's list, newest first, and the dashboard's per-salesperson date ranges. Covering (archived_at
            # too) for the list's ids: SQLite sorts a salesperson's ids off the index, not their rows.
            models.Index(fields=["consultant", "-created_at", "-id", "archived_at"], name="customer_owner_newest"),
            models.Index(fields=["status", "created_at"], name="customer_status_created"),
            # The pool list, newest returns first.
            models.Index(fields=["-pooled_at", "-id"], condition=Q(consultant__isnull=True), name="customer_pool"),
            # Calls to make: a salesperson's by date, and everyone's (managers) by date; archived leads are
            # nobody's call, so they stay out of both.
            models.Index(
                fields=["consultant", "next_follow_up", "status"],
                condition=Q(archived_at__isnull=True, next_follow_up__isnull=False),
                name="customer_owner_due",
            ),
            models.Index(
                # id too: the calls-to-make list's order (soonest due, then customer), read off the index
                fields=["next_follow_up", "id", "status"],
                condition=Q(archived_at__isnull=True, next_follow_up__isnull=False),
                name="customer_due",
            ),
        ]

    def __str__(self):
        return self.name or self.phone

    def save(self, *args, **kwargs):
        # The follow-up summary belongs to the follow-ups' writers: an instance loaded before a follow-up was
        # written would otherwise put back a stale one.
        if not self._state.adding and kwargs.get("update_fields") is None and not kwargs.get("force_insert"):
            deferred = self.get_deferred_fields()
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name not in FOLLOW_UP_SUMMARY and f.attname not in deferred
            ]
        super().save(*args, **kwargs)


# Calls to make are on leads being worked on: a lost or archived lead is nobody's call to make, and a customer who
# enrolled is never late (a follow-up due today on them, e.g. a new inquiry, still counts).
WORKED_ON = [Customer.Status.NEW, Customer.Status.FOLLOWING, Customer.Status.ENROLLED]
CAN_BE_LATE = [Customer.Status.NEW, Customer.Status.FOLLOWING]


class FollowUp(models.Model):
    class Intention(models.TextChoices):
        WITHIN_2_WEEKS = "2_weeks", _("will enroll within 2 weeks")
        WITHIN_MONTH = "1_month", _("will enroll within a month")
        UNDECIDED = "undecided", _("undecided")
        NOT_INTERESTED = "not_interested", _("not interested")
        ENROLLED_ELSEWHERE = "elsewhere", _("enrolled elsewhere")
        ENROLLED = "enrolled", _("enrolled")

    customer = models.ForeignKey(Customer, models.CASCADE, related_name="follow_ups", verbose_name=_("customer"))
    consultant = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="follow_ups", verbose_name=_("consultant")
    )
    content = models.TextField(_("notes"))
    intention = models.CharField(_("intention"), max_length=16, choices=Intention.choices, default=Intention.UNDECIDED)
    next_follow_up = models.DateField(_("next follow-up"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = HistoricalRecords(verbose_name=_("historical follow-up"))

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-created_at", "-id"], name="followup_customer_latest"),
            # The list's order (newest first), so a page of 50 reads 50 index entries, not a sort of every row.
            models.Index(fields=["-created_at", "-id"], name="followup_created"),
            models.Index(fields=["consultant", "next_follow_up"], name="followup_owner_due"),
        ]

    def __str__(self):
        return _("Follow-up of %(customer)s on %(date)s") % {
            "customer": self.customer,
            "date": timezone.localdate(self.created_at) if self.created_at else "…",
        }


class CustomerUserObjectPermission(UserObjectPermissionBase):
    """A customer shared with a salesperson who does not own it (guardian, direct foreign key: fast joins)."""

    content_object = models.ForeignKey(Customer, models.CASCADE, related_name="user_shares")

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = _("customer share")
        verbose_name_plural = _("customer shares")
