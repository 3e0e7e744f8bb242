"""Demo data for trying the CRM: campuses, courses, classes, one login per role, customers with follow-ups, and the
demo student's money (a plan with an overdue installment, a refund waiting for finance).

The demo speaks the school's language: fixtures/demo.<language>.json when there is one for it (the same logins,
Chinese names and texts), else fixtures/demo.json (English)."""

import datetime
import json
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone, translation

from crm import roles
from crm.models import (
    Branch,
    ClassGrade,
    ContractTemplate,
    Course,
    CourseRecord,
    Customer,
    Enrollment,
    FollowUp,
    Installment,
    Payment,
    PoolReason,
    Refund,
    StaffProfile,
    Student,
    StudyRecord,
    Tag,
)

DEMO_FILE = settings.BASE_DIR / "fixtures" / "demo.json"


def demo_file(language: str):
    """The demo in `language` (a Chinese school tries the CRM on Chinese names), else the English one."""
    localized = DEMO_FILE.with_name(f"demo.{translation.to_language(language)}.json")
    return localized if localized.exists() else DEMO_FILE


class Command(BaseCommand):
    help = "Load demo data (safe to run again: nothing is duplicated) and print the demo logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--language",
            default=None,
            help="The demo's language (en, zh-hans); by default the school's (DJANGO_LANGUAGE_CODE).",
        )

    @transaction.atomic
    def handle(self, *args, **options):
        roles.sync_roles()
        data = json.loads(demo_file(options["language"] or settings.LANGUAGE_CODE).read_text(encoding="utf-8"))
        self.texts = data["texts"]
        users = self.users(data["users"])
        classes = self.school(data)
        self.customers(data, users, classes)
        self.stdout.write(self.style.SUCCESS("Demo data is ready. Logins (username / password, role):"))
        for spec in data["users"]:
            where = "/portal/" if spec["role"] == roles.STUDENT else "/admin/"
            self.stdout.write(f"  {spec['username']:<10} {spec['password']:<20} {spec['role']:<14} at {where}")

    def users(self, specs):
        User = get_user_model()
        users = {}
        for spec in specs:
            user, created = User.objects.get_or_create(
                username=spec["username"],
                defaults={
                    "first_name": spec["first_name"],
                    "last_name": spec["last_name"],
                    "email": f"{spec['username']}@school.example",
                    "is_staff": spec["role"] != roles.STUDENT,
                },
            )
            if created:
                user.set_password(spec["password"])
                user.save()
            user.groups.add(Group.objects.get(name=spec["role"]))
            StaffProfile.objects.get_or_create(
                user=user, defaults={"takes_web_leads": spec.get("takes_web_leads", False)}
            )
            users[spec["username"]] = user
        return users

    def school(self, data):
        for spec in data["branches"]:
            Branch.objects.get_or_create(name=spec["name"], defaults={"address": spec["address"]})
        for spec in data["courses"]:
            Course.objects.get_or_create(
                name=spec["name"],
                defaults={"price": Decimal(spec["price"]), "period": spec["period"], "outline": spec["outline"]},
            )
        for name in data["tags"]:
            Tag.objects.get_or_create(name=name)
        template, _ = ContractTemplate.objects.get_or_create(
            name=data["contract_template"]["name"], defaults={"content": data["contract_template"]["content"]}
        )
        today = timezone.localdate()
        classes = []
        for spec in data["classes"]:
            course = Course.objects.get(name=spec["course"])
            start = today + datetime.timedelta(days=spec["start_offset_days"])
            class_grade, _ = ClassGrade.objects.get_or_create(
                branch=Branch.objects.get(name=spec["branch"]),
                course=course,
                semester=spec["semester"],
                defaults={
                    "class_type": spec["class_type"],
                    "start_date": start,
                    "end_date": start + datetime.timedelta(weeks=course.period),
                    "capacity": spec["capacity"],
                    "contract_template": template,
                },
            )
            classes.append(class_grade)
        return classes

    def customers(self, data, users, classes):
        names = data["first_names"]
        sources = [value for value, _label in Customer.Source.choices]
        intentions = [value for value, _label in FollowUp.Intention.choices]
        courses = list(Course.objects.all())
        branches = list(Branch.objects.all())
        funnel = [Customer.Status.NEW, Customer.Status.FOLLOWING, Customer.Status.FOLLOWING, Customer.Status.ENROLLED]
        funnel += [Customer.Status.FOLLOWING, Customer.Status.LOST]
        today = timezone.localdate()
        salespeople = [users["sales"], users["sales2"], users["manager"]]
        for s, consultant in enumerate(salespeople):
            for i in range(data["customers_per_salesperson"]):
                phone = f"+86139{s:02d}{i:06d}"
                customer, created = Customer.objects.get_or_create(
                    phone=phone,
                    defaults={
                        "name": names[(i + s) % len(names)],
                        "source": sources[i % len(sources)],
                        "status": funnel[i % len(funnel)],
                        "branch": branches[i % len(branches)],
                        "consultant": consultant,
                        "content": self.texts["customer_content"],
                    },
                )
                if not created:
                    continue
                # Leads came in over the last half year, so the dashboard's months and ranges have something to show.
                came_in = timezone.now() - datetime.timedelta(days=(i * 17 + s * 5) % 180)
                Customer.objects.filter(pk=customer.pk).update(created_at=came_in)
                customer.consult_courses.add(courses[i % len(courses)])
                if i % 3:
                    FollowUp.objects.create(
                        customer=customer,
                        consultant=consultant,
                        content=self.texts["follow_up"],
                        intention=intentions[i % 3],
                        next_follow_up=today + datetime.timedelta(days=(i % 5) - 2),
                    )
        self.pool(names, users, courses, branches)
        self.student(users, classes)

    def pool(self, names, users, courses, branches):
        """A few leads in the pool: gone idle at sales2's or released by the manager, one of them sales's own."""
        now = timezone.now()
        for i in range(6):
            previous = users["sales"] if i == 0 else users["sales2"]
            pooled_at = now - datetime.timedelta(days=1 + 4 * i)
            customer, created = Customer.objects.get_or_create(
                phone=f"+8613990{i:06d}",
                defaults={
                    "name": names[(i + 3) % len(names)],
                    "source": Customer.Source.WEBSITE if i % 2 else Customer.Source.SEARCH_ADS,
                    "status": Customer.Status.FOLLOWING,
                    "branch": branches[i % len(branches)],
                    "wechat": f"demo_pool_{i}",
                    "content": self.texts["pool_content"],
                    "consultant": None,
                    "previous_consultant": previous,
                    "pooled_at": pooled_at,
                    "pool_reason": PoolReason.RELEASED if i == 5 else PoolReason.IDLE,
                    "pool_note": self.texts["pool_note"] if i == 5 else "",
                },
            )
            if not created:
                continue
            customer.consult_courses.add(courses[i % len(courses)])
            follow_up = FollowUp.objects.create(
                customer=customer,
                consultant=previous,
                content=self.texts["pool_follow_up"],
                intention=FollowUp.Intention.UNDECIDED,
            )
            FollowUp.objects.filter(pk=follow_up.pk).update(created_at=pooled_at - datetime.timedelta(days=20))

    def student(self, users, classes):
        user = users["student"]
        customer, _ = Customer.objects.get_or_create(
            phone="+8613800138000",
            defaults={
                "name": self.texts["student_name"],
                "source": Customer.Source.REFERRAL,
                "status": Customer.Status.ENROLLED,
                "consultant": users["sales"],
            },
        )
        student, _ = Student.objects.get_or_create(customer=customer, defaults={"user": user})
        class_grade = classes[0]
        self.money(users, customer, class_grade)
        student.classes.add(class_grade)
        class_grade.teachers.add(users["teacher"])
        for day in (1, 2, 3):
            lesson, created = CourseRecord.objects.get_or_create(
                class_grade=class_grade,
                day_num=day,
                defaults={
                    "teacher": users["teacher"],
                    "title": self.texts["lesson_title"].format(day=day),
                    "outline": self.texts["lesson_outline"],
                    "date": class_grade.start_date + datetime.timedelta(days=7 * (day - 1)),
                    "has_homework": day == 3,
                    "homework_title": self.texts["homework_title"] if day == 3 else "",
                },
            )
            StudyRecord.objects.get_or_create(student=student, course_record=lesson)

    def money(self, users, customer, class_grade):
        """Stella's enrollment: 60% paid 20 days ago, the rest in two installments (the first overdue), and a
        refund she asked for that finance has still to decide."""
        paid_at = timezone.now() - datetime.timedelta(days=20)
        price = class_grade.course.price
        first = (price * Decimal("0.6")).quantize(Decimal("1"))
        enrollment, _ = Enrollment.objects.get_or_create(
            customer=customer,
            class_grade=class_grade,
            defaults={
                "consultant": users["sales"],
                "status": Enrollment.Status.APPROVED,
                "contract_text": class_grade.contract_template.content.replace("{student_name}", customer.name),
                "contract_agreed": True,
                "contract_agreed_at": paid_at,
                "contract_approved": True,
                "approved_by": users["sales"],
                "approved_at": paid_at,
                "submitted_at": paid_at,
            },
        )
        payment, _ = Payment.objects.get_or_create(
            customer=customer,
            course=class_grade.course,
            reverses=None,
            defaults={
                "enrollment": enrollment,
                "amount": first,
                "method": Payment.Method.ALIPAY,
                "consultant": users["sales"],
                "paid_at": paid_at,
            },
        )
        if enrollment.installments.exists():
            return
        today = timezone.localdate()
        rest = price - first
        plan = [
            (paid_at.date(), first, payment),
            (today - datetime.timedelta(days=5), (rest / 2).quantize(Decimal("1")), None),
        ]
        plan.append((today + datetime.timedelta(days=25), price - first - plan[1][1], None))
        for due_date, amount, settled_by in plan:
            Installment.objects.create(enrollment=enrollment, due_date=due_date, amount=amount, payment=settled_by)
        Refund.objects.create(
            enrollment=enrollment,
            amount=Decimal("500.00"),
            reason=self.texts["refund_reason"],
            requested_by=users["sales"],
        )
