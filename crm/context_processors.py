from django.conf import settings


def school(request):
    """The school's name and logo for the public pages."""
    return {"SCHOOL_NAME": settings.SCHOOL_NAME, "SCHOOL_LOGO": settings.SCHOOL_LOGO}
