"""Read a form out of a page's HTML and post it the way a browser would: to its action (the page's own address when
the action is empty), with the values its controls hold as rendered."""

from html.parser import HTMLParser
from urllib.parse import urljoin


class _FormReader(HTMLParser):
    def __init__(self, form_id: str):
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.action = None
        self.data: list[tuple[str, str]] = []
        self._select = None  # (name, chosen value, first value)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == self.form_id:
            self.inside, self.action = True, attrs.get("action") or ""
        if not self.inside or "disabled" in attrs:
            return
        kind = attrs.get("type", "text").lower()
        if tag == "input" and attrs.get("name") and kind not in {"submit", "button", "image", "reset", "file"}:
            if kind not in {"checkbox", "radio"} or "checked" in attrs:
                self.data.append((attrs["name"], attrs.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and attrs.get("name"):
            self._select = [attrs["name"], None, None]
        elif tag == "option" and self._select is not None:
            value = attrs.get("value", "")
            if self._select[2] is None:
                self._select[2] = value
            if "selected" in attrs:
                self._select[1] = value

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None:
            name, chosen, first = self._select
            self.data.append((name, chosen if chosen is not None else first))
            self._select = None
        elif tag == "form" and self.inside:
            self.inside = False


def browser_post(client, page_url: str, response, form_id: str, choose: dict | None = None):
    """Submit form `form_id` of `response` (the page at `page_url`) as rendered, with the values a person picked in
    `choose` (name -> value; None unticks a box); returns the response."""
    reader = _FormReader(form_id)
    reader.feed(response.content.decode())
    assert reader.action is not None, f"no form #{form_id} on {page_url}"
    data: dict[str, list[str]] = {}
    for name, value in reader.data:
        data.setdefault(name, []).append(value)
    data.update({name: [value] for name, value in (choose or {}).items()})
    data = {name: values for name, values in data.items() if values != [None]}
    return client.post(urljoin(page_url, reader.action), data)
