import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import crm.models.academics


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0012_money'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='CalendarFeed',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('token', models.CharField(default=crm.models.academics.new_feed_token, editable=False, max_length=64, unique=True, verbose_name='token')),
                ('created_at', models.DateTimeField(auto_now=True, verbose_name='created at')),
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='calendar_feed', to=settings.AUTH_USER_MODEL, verbose_name='user')),
            ],
            options={
                'verbose_name': 'calendar feed',
                'verbose_name_plural': 'calendar feeds',
            },
        ),
    ]
