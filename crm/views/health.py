"""/health/ for load balancers: up or down, and nothing else (no versions, hosts or error texts)."""

import asyncio
import dataclasses
import uuid

from django.http import HttpResponse
from health_check.checks import Cache, Database, Storage
from health_check.views import HealthCheckView

from crm.models.enrollment import private_storage


@dataclasses.dataclass
class PrivateStorage(Storage):
    """Uploads live in our private storage, not in the `default` alias the library checks."""

    @property
    def storage(self):
        return private_storage

    def get_file_name(self):
        return f".health-check-{uuid.uuid4().hex}"


class HealthView(HealthCheckView):
    checks = (Database, Cache, PrivateStorage)

    async def get(self, request, *args, **kwargs):
        # The library's own page lists each check and its error; a public probe gets the verdict only (the
        # failures go to the log, where the library writes them).
        with self.get_executor() as executor:
            results = await asyncio.gather(*(check.get_result(executor) for check in self.get_checks()))
        up = not any(result.error for result in results)
        return HttpResponse("up\n" if up else "down\n", status=200 if up else 503, content_type="text/plain")
