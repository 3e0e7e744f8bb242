"""Demo data for trying the CRM: campuses, courses, classes, one login per role, customers with follow-ups."""

import datetime
import json
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from crm import roles
from crm.models import (
    Branch,
    ClassGrade,
    ContractTemplate,
    Course,
    CourseRecord,
    Customer,
    FollowUp,
    Payment,
    PoolReason,
    StaffProfile,
    Student,
    StudyRecord,
    Tag,
)

DEMO_FILE = settings.BASE_DIR / "fixtures" / "demo.json"


class Command(BaseCommand):
    help = "Load demo data (safe to run again: nothing is duplicated) and print the demo logins."

    @transaction.atomic
    def handle(self, *args, **options):
        roles.sync_roles()
        data = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
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
                        "content": "Asked about the course schedule and price.",
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
                        content="Called; sent the course outline and the schedule.",
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
                    "content": "Asked about evening classes.",
                    "consultant": None,
                    "previous_consultant": previous,
                    "pooled_at": pooled_at,
                    "pool_reason": PoolReason.RELEASED if i == 5 else PoolReason.IDLE,
                    "pool_note": "Wants a consultant at another campus." if i == 5 else "",
                },
            )
            if not created:
                continue
            customer.consult_courses.add(courses[i % len(courses)])
            follow_up = FollowUp.objects.create(
                customer=customer,
                consultant=previous,
                content="Called twice, no answer; sent the price list by WeChat.",
                intention=FollowUp.Intention.UNDECIDED,
            )
            FollowUp.objects.filter(pk=follow_up.pk).update(created_at=pooled_at - datetime.timedelta(days=20))

    def student(self, users, classes):
        user = users["student"]
        customer, _ = Customer.objects.get_or_create(
            phone="+8613800138000",
            defaults={
                "name": "Stella Student",
                "source": Customer.Source.REFERRAL,
                "status": Customer.Status.ENROLLED,
                "consultant": users["sales"],
            },
        )
        student, _ = Student.objects.get_or_create(customer=customer, defaults={"user": user})
        class_grade = classes[0]
        Payment.objects.get_or_create(
            customer=customer,
            course=class_grade.course,
            defaults={
                "amount": class_grade.course.price,
                "method": Payment.Method.ALIPAY,
                "consultant": users["sales"],
                "paid_at": timezone.now() - datetime.timedelta(days=20),
            },
        )
        student.classes.add(class_grade)
        class_grade.teachers.add(users["teacher"])
        for day in (1, 2, 3):
            lesson, created = CourseRecord.objects.get_or_create(
                class_grade=class_grade,
                day_num=day,
                defaults={
                    "teacher": users["teacher"],
                    "title": f"Lesson {day}",
                    "outline": "Introduction and exercises.",
                    "date": class_grade.start_date + datetime.timedelta(days=7 * (day - 1)),
                    "has_homework": day == 3,
                    "homework_title": "Exercises" if day == 3 else "",
                },
            )
            StudyRecord.objects.get_or_create(student=student, course_record=lesson)
