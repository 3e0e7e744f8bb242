"""Issue 18, point 4: every page each demo login reaches, in Simplified Chinese, holds no English a person reads.

The demo is loaded in Chinese (as `seed_demo` does for a school whose language is zh-hans). Each login uses a browser
set to Chinese and has chosen zh-hans in the language menu (the cookie Django's set_language sets), one browser
context per login. Every page the login's menu leads to is read: the dashboard, each list, its add, export and import
pages, its first row with the pages that row's tools open, that row's history and one of its versions, the customer
actions that ask first, the search, the lesson calendar, the password change, a missing page; and the student portal,
the student's enrollment link, the public pages; some of them on a phone too. Any run of three or more Latin letters
left in the page's text, or in what a widget shows (button values, placeholders, titles, alternative texts, labels
for screen readers, option labels), fails the test, unless it is a format or product name (ALLOWED), an address, an
email, a file name, a time zone's name (TIME_ZONES), or what the demo data itself holds in Latin letters (DemoData).
Text marked as in another language (the language menu's "English") is meant so. One screenshot per page goes to
test-artifacts/screenshots/zh-hans/.
"""

import json
import os
import re
import zoneinfo
from urllib.parse import urljoin, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import override_settings
from playwright.sync_api import Error as PlaywrightError

from crm.management.commands.seed_demo import DEMO_FILE, demo_file
from crm.models import Course, Customer
from crm.services import privacy
from tests.browser.conftest import ARTIFACTS

SHOTS = ARTIFACTS / "screenshots" / "zh-hans"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

# Names that stay as they are in a Chinese interface: file formats and encodings, products, protocols and keys.
# Each is here because a page names it (a run without the list shows where); "QQ" is too short to be caught.
ALLOWED = {
    "CSV",
    "XLSX",
    "xlsx",
    "UTF",
    "GBK",
    "PDF",
    "JPEG",
    "PNG",
    "ZIP",
    "ics",
    "Excel",
    "Windows",
    "Outlook",
    "Google",
    "LDAP",
    # keys named in Django's "Hold down Control, or Command on a Mac" (translated, the keys keep their names)
    "Control",
    "Command",
    "Mac",
}

# Time zones by the IANA database's names (Asia/Shanghai, UTC), identifiers in every language: the jobs' schedules
# show them (their times are read in one). Whole Area/Place names and UTC only, not the old aliases that are words
# ("Universal", "Japan"), so no word of a sentence passes as one.
_ZONE_NAMES = [name for name in zoneinfo.available_timezones() if "/" in name] + ["UTC"]
TIME_ZONES = re.compile(
    r"(?<![\w/])(?:%s)(?![\w/])" % "|".join(map(re.escape, sorted(_ZONE_NAMES, key=len, reverse=True)))
)

# Every text node, and what widgets show besides text: button values, placeholders, titles, labels for screen readers.
READ_PAGE = """() => {
  const skip = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "TEXTAREA"]);
  const out = [];
  // An element that says it is in another language (the language menu names English in English) is meant so.
  const foreign = (element) => element.closest("[lang]:not([lang^=zh])") !== null;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (skip.has(node.parentElement.tagName) || foreign(node.parentElement)) continue;
    const text = node.textContent.trim();
    if (text) out.push(text);
  }
  const attributes = ["title", "placeholder", "aria-label", "alt", "data-original-title"];
  for (const element of document.querySelectorAll(attributes.map((name) => `[${name}]`).join(", "))) {
    if (foreign(element)) continue;
    for (const name of attributes) {
      const value = element.getAttribute(name);
      if (value && value.trim()) out.push(value.trim());
    }
  }
  for (const element of document.querySelectorAll("input[type=submit], input[type=button], input[type=reset]")) {
    if (element.value) out.push(element.value);
  }
  out.push(document.title);
  return out;
}"""

LATIN_WORD = re.compile(r"[A-Za-z]{3,}")
# Addresses, emails, file names, the contract's {placeholders} and the user page's masked password hash
# ("e7cfba****", random hex) are not words of the interface.
# The lead file's column names are bilingual by design (姓名/name).
NOT_WORDS = re.compile(
    r"(https?://\S+|\S+@\S+|[\w.-]+\.(?:csv|xlsx|pdf|png|jpe?g|zip|ics|svg)\b|/[\w/.-]+/|\{\w+\}|\w+\*{4,}"
    r"|(?<=[\u4e00-\u9fff]/)[a-z_]+)"
)


def english_in(texts: list[str], data: "DemoData") -> list[str]:
    """The English words left in a page's texts, each with the text it was found in."""
    found = []
    for text in texts:
        cleaned = NOT_WORDS.sub(" ", TIME_ZONES.sub(" ", text))
        for value in data.values:  # case and all: the interface's "Student" or "Finance" is not the login
            cleaned = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", " ", cleaned)
        words = [word for word in LATIN_WORD.findall(cleaned) if word not in ALLOWED and word not in data.words]
        if words:
            found.append(f"{' '.join(words)!s}  <- {text[:120]!r}")
    return found


class DemoData:
    """What the Chinese demo still holds in Latin letters: logins, emails, WeChat ids (shown alone or inside a
    Chinese sentence, 由 sales 审核通过), and the technologies courses are named after (Python 全栈开发), as in
    Chinese schools too. The one English a login can hide is a lone lower-case word spelt like it ("student")."""

    def __init__(self):
        self.values = set()
        for user in get_user_model().objects.all():
            self.values |= {user.username, user.email}
        for customer in Customer.objects.all():
            self.values |= {customer.wechat, customer.email, customer.qq}
        self.values.discard("")
        self.words = set()
        for course in Course.objects.all():
            self.words |= set(LATIN_WORD.findall(f"{course.name} {course.outline}"))


@pytest.fixture
def chinese_demo(transactional_db):
    """The demo a school whose language is zh-hans gets (seed_demo follows the school's language)."""
    with override_settings(LANGUAGE_CODE="zh-hans"):
        call_command("seed_demo", stdout=open(os.devnull, "w"))
    # One line in the personal-data access log, as a school admin's download of a person's data writes it (the
    # sweep itself opens no downloads).
    student = Customer.objects.get(student__isnull=False)
    privacy.person_export(customer=student, by=get_user_model().objects.get(username="admin"))
    return json.loads(demo_file("zh-hans").read_text(encoding="utf-8"))


class Sweep:
    """One browser context per login: pages read once each, problems gathered rather than stopping at the first."""

    def __init__(self, chromium, base_url, who, data, viewport=DESKTOP):
        self.base_url, self.who, self.data = base_url, who, data
        # A browser set to Chinese (its own messages, like a form field's "please fill in", are the browser's), and
        # the person's choice of Chinese in the language menu (the cookie Django's set_language sets).
        self.context = chromium.new_context(base_url=base_url, viewport=viewport, locale="zh-CN")
        self.context.set_default_timeout(15_000)
        self.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": base_url}])
        self.page = self.context.new_page()
        self.errors = []
        self.page.on("pageerror", lambda error: self.errors.append(f"script error: {error}"))
        self.seen = set()
        self.problems = {}
        self.count = 0
        SHOTS.mkdir(parents=True, exist_ok=True)
        for old in SHOTS.glob(f"{who}-[0-9]*.png"):  # a previous run's, whose pages may have been others
            old.unlink()

    def visit(self, path, shot=True, expect=None):
        path = urlsplit(urljoin(self.base_url, path))._replace(fragment="").geturl().replace(self.base_url, "")
        if path in self.seen:
            return None
        self.seen.add(path)
        try:
            response = self.page.goto(path)
        except PlaywrightError as error:
            if "Download is starting" in str(error):
                return None  # a file after all: nothing to read
            raise
        if expect:
            assert response.status == expect, f"{self.who} {path}: {response.status}"
        else:
            assert response.status < 400 or response.status == 403, f"{self.who} {path}: {response.status}"
        self.read(path, shot)
        return response

    def read(self, name, shot=True):
        self.page.wait_for_load_state("load")
        assert self.page.evaluate("document.documentElement.lang") == "zh-hans", (self.who, name)
        found = english_in(self.page.evaluate(READ_PAGE), self.data)
        if found:
            self.problems[f"{self.who} {name}"] = found
        self.count += 1
        if shot:
            slug = re.sub(r"[^\w]+", "-", name.split("?")[0]).strip("-")[:60] or "root"
            self.page.screenshot(path=str(SHOTS / f"{self.who}-{self.count:02d}-{slug}.png"), full_page=True)

    def report(self) -> str:
        """Each English text once, with the pages it is on."""
        pages = {}
        for where, found in self.problems.items():
            for line in found:
                pages.setdefault(line, []).append(where)
        lines = [f"{line}\n        on {len(where)} page(s): {', '.join(where[:3])}" for line, where in pages.items()]
        return f"English on {len(self.problems)} of {self.count} pages for {self.who}:\n" + "\n".join(lines)

    def hrefs(self, selector):
        found = self.page.eval_on_selector_all(selector, "els => els.map(e => e.getAttribute('href'))")
        return [href for href in found if href]

    def close(self):
        self.context.close()


def sign_in(sweep, user, portal=False):
    page = sweep.page
    page.goto("/portal/login/" if portal else "/admin/login/")
    sweep.read("login" if not portal else "portal-login")
    page.fill("input[name=username]", user["username"])
    page.fill("input[name=password]", user["password"])
    with page.expect_navigation():
        page.press("input[name=password]", "Enter")


# Links that are files (receipts, contracts, a person's data, exports, calendar feeds), or that change something.
NOT_PAGES = re.compile(
    r"(\.(csv|xlsx|pdf|zip|ics)$|/(receipt|contract|personal-data|file|download|feed|delete|logout)/|[?&]_)"
)


def page_links(sweep, base, selector):
    """The admin pages the selected links open (not files, not the page itself), absolute."""
    links = []
    for href in sweep.hrefs(selector):
        url = urljoin(base, href)
        path = urlsplit(url).path
        if path.startswith("/admin/") and not NOT_PAGES.search(url) and path != urlsplit(base).path:
            links.append(url)
    return links


def walk_admin(sweep):
    """The dashboard, then each menu entry with its add page, export and import, its first row with what that row
    links to (the tools on its page, like Start enrollment), its history and one version."""
    page = sweep.page
    sweep.visit("/admin/")
    menu = sweep.hrefs("#jazzy-navigation a.nav-link, #jazzy-navbar a.nav-link, #jazzy-navbar a.dropdown-item")
    menu = [href for href in menu if href.startswith("/admin/") and "logout" not in href]
    for href in dict.fromkeys(menu):
        response = sweep.visit(href)
        if response is None or response.status != 200 or not page.locator("#result_list, #changelist").count():
            continue
        tools = page_links(sweep, href, ".object-tools a, a.addlink, a.export_link, a[href$='/add/']")
        rows = sweep.hrefs("#result_list tbody tr th a, #result_list tbody tr td.field-__str__ a")
        changes = {urljoin(href, row) for row in rows}
        row_links = [
            link for link in page_links(sweep, href, "#result_list tbody tr:first-child a") if link not in changes
        ]
        for link in tools + row_links:
            sweep.visit(link)
        if rows:
            change = urljoin(href, rows[0])
            if sweep.visit(change) is None:
                continue
            for link in page_links(sweep, change, ".object-tools a, #content-main a.btn, .card-body a.btn"):
                if not link.endswith("/history/"):
                    sweep.visit(link)
            if page.goto(change) and page.locator("a.historylink, a[href$='/history/']").count():
                history = urljoin(change, sweep.hrefs("a.historylink, a[href$='/history/']")[0])
                sweep.visit(history)
                versions = [h for h in sweep.hrefs("#change-history a, table a") if re.search(r"/history/\d+/$", h)]
                if versions:
                    sweep.visit(urljoin(history, versions[0]))
    if sweep.who == "manager":
        walk_customer_actions(sweep)
    sweep.visit("/admin/crm/")  # the app's own page, its heading the app's name
    sweep.visit("/admin/search/?q=%E7%8E%8B")  # 王: most of the demo's people
    sweep.visit("/admin/crm/courserecord/calendar/")  # the lesson calendar (or, for those without lessons, the 403)
    sweep.visit("/admin/password_change/")
    sweep.visit("/admin/no-such-page/", expect=404)


# The customer list's actions that ask something first (whom to, why, which one to keep): their pages.
ASKING_ACTIONS = ["reassign", "share", "release", "merge"]


def walk_customer_actions(sweep):
    page = sweep.page
    for action in ASKING_ACTIONS:
        page.goto("/admin/crm/customer/?status__exact=following")
        for box in page.locator("#result_list tbody input.action-select").all()[:2]:
            box.check()
        page.select_option("select[name=action]", action)
        with page.expect_navigation():
            page.click("button[name=index]")
        sweep.read(f"/admin/crm/customer/ {action}")  # read only: nothing is chosen or sent


def walk_portal(sweep):
    """The student portal: home, each class, the calendar; then the pages before signing in and the public ones."""
    sweep.visit("/portal/")
    for href in dict.fromkeys(sweep.hrefs("a[href^='/portal/classes/']")):
        sweep.visit(href)
    sweep.visit("/portal/calendar/")
    sweep.visit("/courses/")
    sweep.visit("/inquiry/")
    sweep.visit("/no-such-page/", expect=404)
    sweep.page.goto("/portal/")
    sweep.page.click("form[action$='/portal/logout/'] button, a[href$='/portal/logout/']")
    sweep.visit("/portal/password/reset/")


def walk_enrollment_links(sweep):
    """The student's enrollment link, as the student first opens it (the form, the contract, the upload) and once
    approved (what they submitted, read-only)."""
    from crm.models import ClassGrade, Enrollment
    from crm.services.enrollment import enrollment_start

    seller = get_user_model().objects.get(username="sales")
    customer = Customer.objects.filter(consultant=seller, status=Customer.Status.FOLLOWING).first()
    opened = enrollment_start(customer=customer, class_grade=ClassGrade.objects.order_by("-start_date")[0], by=seller)
    sweep.visit(opened.get_public_url())
    sweep.visit(Enrollment.objects.get(status=Enrollment.Status.APPROVED).get_public_url())


STAFF = ["admin", "manager", "sales", "sales2", "teacher", "finance"]


@pytest.mark.parametrize("username", STAFF)
def test_every_admin_page_speaks_chinese(chromium, live_server, chinese_demo, username):
    user = next(u for u in chinese_demo["users"] if u["username"] == username)
    sweep = Sweep(chromium, live_server.url, username, DemoData())
    try:
        sign_in(sweep, user)
        walk_admin(sweep)
    finally:
        sweep.close()
    assert not sweep.problems, sweep.report()
    assert not sweep.errors, sweep.errors


def test_the_portal_and_public_pages_speak_chinese(chromium, live_server, chinese_demo):
    student = next(u for u in chinese_demo["users"] if u["role"] == "student")
    sweep = Sweep(chromium, live_server.url, "student", DemoData())
    try:
        sign_in(sweep, student, portal=True)
        walk_portal(sweep)
        walk_enrollment_links(sweep)
    finally:
        sweep.close()
    assert not sweep.problems, sweep.report()
    assert not sweep.errors, sweep.errors


# On a phone: the pages most used away from a desk (the sidebar folded away, tables scrolled sideways).
PHONE_PAGES = {
    "sales": ["/admin/", "/admin/crm/customer/", "/admin/crm/followup/", "/admin/search/?q=%E7%8E%8B"],
    "teacher": ["/admin/", "/admin/crm/studyrecord/", "/admin/crm/courserecord/calendar/"],
}


def test_phone_pages_speak_chinese(chromium, live_server, chinese_demo):
    users = {u["username"]: u for u in chinese_demo["users"]}
    data = DemoData()
    problems = []
    for username, paths in {**PHONE_PAGES, "student": ["/portal/", "/portal/calendar/"]}.items():
        sweep = Sweep(chromium, live_server.url, f"{username}-phone", data, viewport=PHONE)
        try:
            sign_in(sweep, users[username], portal=username == "student")
            for path in paths:
                sweep.visit(path)
        finally:
            sweep.close()
        if sweep.problems:
            problems.append(sweep.report())
    assert not problems, "\n".join(problems)


def test_the_chinese_demo_has_the_same_logins():
    """Tests and the README name the demo logins: they are the same whatever the demo's language."""
    english = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    chinese = json.loads(demo_file("zh-hans").read_text(encoding="utf-8"))
    logins = [[(u["username"], u["password"], u["role"]) for u in demo["users"]] for demo in (english, chinese)]
    assert logins[0] == logins[1]
    assert english.keys() == chinese.keys() and english["texts"].keys() == chinese["texts"].keys()
