"""Messages of the packages we build on that they leave untranslated in Simplified Chinese (or spell otherwise than
their translations do), listed so that `makemessages` puts them in our catalogue: Django searches LOCALE_PATHS
before any app's catalogue, so our translation of the same msgid is the one shown. Never imported."""

from django.utils.translation import gettext_noop

MESSAGES = [
    # jazzmin: the change form's first tab, the password change intro and the empty history (straight apostrophes,
    # where Django's own translated messages have curly ones)
    gettext_noop("General"),
    gettext_noop(
        "Please enter your old password, for security's sake, and then enter your new password twice so we can "
        "verify you typed it in correctly."
    ),
    gettext_noop("This object doesn't have a change history. It probably wasn't added via this admin site."),
    gettext_noop("First, enter a username and password. Then, you'll be able to edit more user options."),
    # simple-history: the history table's last column
    gettext_noop("Changes"),
    # django-axes: its models' names (it has no Chinese catalogue)
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"),
    gettext_noop("access failure"),
    gettext_noop("access failures"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
    gettext_noop("Axes"),
    # django-guardian: its app and models in the permission pickers (no Chinese catalogue for these)
    gettext_noop("Guardian"),
    gettext_noop("group object permission"),
    gettext_noop("user object permission"),
    # django-celery-beat: what its Chinese catalogue lacks on the schedules' pages (school admins only)
    gettext_noop("Arguments"),
    gettext_noop("Execution Options"),
    gettext_noop("Periodic Tasks Using This Schedule"),
    gettext_noop('Cron Months (1-12) Of The Year to Run. Use "*" for "all". (Example: "1,12")'),
    gettext_noop('Cron Days Of The Week to Run. Use "*" for "all", Sunday is 0 or 7, Monday is 1. (Example: "0,5")'),
    # django-celery-beat: model names its catalogue gets wrong ("solar event" as 日程事件, an agenda's event) or
    # spells like the periodic tasks themselves ("crontab" as 计划任务)
    gettext_noop("solar event"),
    gettext_noop("solar events"),
    gettext_noop("crontab"),
    gettext_noop("crontabs"),
    # ours: a model with Django's derived name, shown in the permission pickers (crm.apps)
    gettext_noop("lead import row"),
]
