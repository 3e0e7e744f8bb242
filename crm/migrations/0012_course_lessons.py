# Course.lessons exactly as the money branch adds it: when both are merged, keep one of the two migrations.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0011_lead_pool'),
    ]

    operations = [
        migrations.AddField(
            model_name='course',
            name='lessons',
            field=models.PositiveSmallIntegerField(default=24, help_text='How many lessons the price buys (lessons consumed count against it).', verbose_name='lessons'),
        ),
        migrations.AddConstraint(
            model_name='course',
            constraint=models.CheckConstraint(condition=models.Q(('lessons__gt', 0)), name='course_lessons_positive'),
        ),
    ]
