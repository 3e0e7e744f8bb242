"""/health/ for load balancers: up or down, and nothing else (no versions, hosts or error texts)."""

import asyncio
import dataclasses
import uuid
from concurrent.futures import ThreadPoolExecutor

from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from health_check.checks import Cache, Database, Storage

from crm.storage import private_storage


@dataclasses.dataclass
class PrivateStorage(Storage):
    """Uploads live in our private storage, not in the `default` alias the library checks."""

    @property
    def storage(self):
        return private_storage

    def get_file_name(self):
        return f".health-check-{uuid.uuid4().hex}"


CHECKS = (Database, Cache, PrivateStorage)


async def _failures() -> list:
    results = await asyncio.gather(*(check().get_result() for check in CHECKS))
    return [result for result in results if result.error]  # the library logs each failure with its reason


@never_cache
@require_safe
def health(request):
    # django-health-check's checks, run on their own event loop in a thread of their own: the same under a
    # sync worker, an async server or a test process that already runs a loop. Its page would list each
    # check and its error; a public probe gets the verdict only.
    with ThreadPoolExecutor(max_workers=1) as pool:
        up = not pool.submit(asyncio.run, _failures()).result()
    return HttpResponse("up\n" if up else "down\n", status=200 if up else 503, content_type="text/plain")
