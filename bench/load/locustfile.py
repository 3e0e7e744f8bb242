"""The CRM under load (`make load`): salespeople, managers and public visitors against a production-mode server.

Requests reach gunicorn as they would from the school's TLS proxy (X-Forwarded-Proto: https), so the
production settings (secure cookies, CSRF origin checks) apply unchanged. bench/load/run.py prepares the data
and passes the paths it found in LOAD_* variables.
"""

import os
import random
import re

from locust import HttpUser, between, task

PASSWORD = os.environ.get("LOAD_PASSWORD", "load-test-2026")
SALESPEOPLE = int(os.environ.get("LOAD_SALESPEOPLE", "10"))
ENROLLMENT_PATHS = [p for p in os.environ.get("LOAD_ENROLLMENT_PATHS", "").split() if p]
CATALOGUE_PATH = os.environ.get("LOAD_CATALOGUE_PATH", "")
INQUIRY_PATH = os.environ.get("LOAD_INQUIRY_PATH", "")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class CRMUser(HttpUser):
    abstract = True
    wait_time = between(1, 3)

    def on_start(self):
        origin = "https://" + self.host.split("://", 1)[1]
        self.client.headers.update({"X-Forwarded-Proto": "https", "Origin": origin, "Referer": origin + "/"})

    def call(self, method, path, name, **kwargs):
        response = self.client.request(method, path, name=name, **kwargs)
        for cookie in self.client.cookies:  # the server marks them Secure; the proxy would speak https for us
            cookie.secure = False
        return response

    def login(self, username):
        page = self.call("GET", "/admin/login/", "login")
        token = CSRF.search(page.text).group(1)
        self.call(
            "POST",
            "/admin/login/",
            "login",
            data={"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD, "next": "/admin/"},
        )


class Salesperson(CRMUser):
    weight = 6

    def on_start(self):
        super().on_start()
        self.login(f"bench-sales-{random.randrange(SALESPEOPLE):03d}")
        self.customer_ids = []

    @task(4)
    def browse(self):
        page = self.call("GET", f"/admin/crm/customer/?p={random.randrange(5)}", "customer list")
        self.customer_ids = re.findall(r"/admin/crm/customer/(\d+)/change/", page.text) or self.customer_ids

    @task(2)
    def search(self):
        self.call("GET", f"/admin/crm/customer/?q=135{random.randrange(10000):04d}", "customer search")

    @task(3)
    def open_customer(self):
        if self.customer_ids:
            self.call("GET", f"/admin/crm/customer/{random.choice(self.customer_ids)}/change/", "customer page")

    @task(1)
    def follow_up(self):
        if not self.customer_ids:
            return
        customer = random.choice(self.customer_ids)
        page = self.call("GET", f"/admin/crm/followup/add/?customer={customer}", "follow-up form")
        token = CSRF.search(page.text)
        if token:
            data = {
                "csrfmiddlewaretoken": token.group(1),
                "customer": customer,
                "content": "Called, load test.",
                "intention": "undecided",
                "next_follow_up": "",
                "_save": "Save",
            }
            self.call("POST", "/admin/crm/followup/add/", "follow-up add", data=data)


class Manager(CRMUser):
    weight = 1

    def on_start(self):
        super().on_start()
        self.login("bench-manager")

    @task
    def dashboard(self):
        self.call("GET", "/admin/", "dashboard")


class Visitor(CRMUser):
    weight = 3
    wait_time = between(2, 5)

    @task(3)
    def enrollment_page(self):
        if ENROLLMENT_PATHS:
            self.call("GET", random.choice(ENROLLMENT_PATHS), "enrollment page")

    @task(2)
    def catalogue(self):
        if CATALOGUE_PATH:
            self.call("GET", CATALOGUE_PATH, "catalogue")

    @task(1)
    def inquiry(self):
        if INQUIRY_PATH:
            self.call("GET", INQUIRY_PATH, "inquiry form")
