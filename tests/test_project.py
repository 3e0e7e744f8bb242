"""Project-level guarantees: migrations match the models, settings pass the deploy check, languages switch."""

import io
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_no_model_change_lacks_a_migration():
    call_command("makemigrations", "--check", "--dry-run", stdout=io.StringIO())


def test_production_settings_pass_the_deploy_check(tmp_path):
    env = {
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "x" * 30 + "production-like-secret-value-for-check-only",
        "DJANGO_ALLOWED_HOSTS": "crm.school.example",
        "DJANGO_STATIC_ROOT": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("cache_url, refused", [("rediscache://localhost/1", False), ("dbcache://crm_cache", True)])
def test_the_rate_limits_accept_redis_and_refuse_a_cache_that_cannot_count(cache_url, refused):
    env = {"DJANGO_CACHE_URL": cache_url, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--fail-level", "WARNING"], env=env, capture_output=True, text=True
    )
    assert (result.returncode != 0) == refused == ("django_ratelimit.E003" in result.stderr), result.stderr


def test_user_switches_the_admin_to_simplified_chinese(client, sales):
    client.force_login(sales)
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": reverse("admin:index")})
    assert response.status_code == 302
    page = client.get(reverse("admin:crm_customer_changelist")).content.decode()
    assert "客户" in page  # the customers page title in Chinese
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Customers" in client.get(reverse("admin:crm_customer_changelist")).content.decode()


def test_seed_demo_is_idempotent():
    from crm.models import Customer, FollowUp

    call_command("seed_demo", stdout=io.StringIO())
    counts = Customer.objects.count(), FollowUp.objects.count()
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert (Customer.objects.count(), FollowUp.objects.count()) == counts
    assert "sales-demo-2026" in out.getvalue()
    assert Customer.objects.filter(consultant__isnull=True, pooled_at__isnull=False).count() == 6  # the lead pool


def test_seed_demo_speaks_the_school_language(settings):
    """A school whose language is zh-hans tries the CRM on Chinese people, places and notes; the logins stay."""
    import re

    from django.contrib.auth import get_user_model

    from crm.models import Branch, Customer, FollowUp, Tag

    settings.LANGUAGE_CODE = "zh-hans"
    call_command("seed_demo", stdout=io.StringIO())
    texts = [c.name + c.content for c in Customer.objects.all()] + [f.content for f in FollowUp.objects.all()]
    texts += [b.name + b.address for b in Branch.objects.all()] + [t.name for t in Tag.objects.all()]
    texts += [user.get_full_name() for user in get_user_model().objects.all()]
    assert not [text for text in texts if re.search("[A-Za-z]{3,}", text)]
    assert get_user_model().objects.filter(username="sales").exists()
