"""What a browser would post: the fields of a form on a rendered page, with the values the page shows.

Tests that edit through a page post exactly this, changed in one place, so a form that loses or
reshapes a value on its way (a time zone, a hidden version) shows up as a wrong write.
"""

from html.parser import HTMLParser

from django.http import HttpResponse


class _FormReader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms, self.current = [], None
        self.select, self.select_options, self.textarea = None, [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.current = {
                "action": attrs.get("action", ""),
                "method": attrs.get("method", "get").lower(),
                "fields": [],
            }
            self.forms.append(self.current)
        if self.current is None or "disabled" in attrs:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.current["fields"].append((name, attrs.get("value", "on")))
            elif kind not in ("submit", "button", "file", "reset", "image"):
                self.current["fields"].append((name, attrs.get("value", "")))
        elif tag == "select" and name:
            self.select, self.select_options = (name, "multiple" in attrs), []
        elif tag == "option" and self.select:
            self.select_options.append((attrs.get("value", ""), "selected" in attrs))
        elif tag == "textarea" and name:
            self.textarea = [name, ""]

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None
        elif tag == "select" and self.select and self.current is not None:
            (name, multiple), options = self.select, self.select_options
            chosen = [value for value, selected in options if selected]
            if not chosen and not multiple and options:
                chosen = [options[0][0]]  # a browser sends the first option of a single select
            self.current["fields"].extend((name, value) for value in chosen)
            self.select = None
        elif tag == "textarea" and self.textarea is not None and self.current is not None:
            name, text = self.textarea
            self.current["fields"].append((name, text[1:] if text.startswith("\n") else text))
            self.textarea = None


def form_data(response: HttpResponse, action: str = "") -> dict:
    """The fields of the page's first method="post" form that posts to `action` ("": to the page itself),
    as the test client takes them: a list for a name that appears more than once."""
    reader = _FormReader()
    reader.feed(response.content.decode())
    own = {"", response.request["PATH_INFO"]} if not action else {action}
    forms = [form for form in reader.forms if form["method"] == "post" and form["action"] in own]
    if not forms:
        raise AssertionError(f"no form posting to {action!r} on the page")
    data: dict = {}
    for name, value in forms[0]["fields"]:
        data.setdefault(name, []).append(value)
    return {name: values[0] if len(values) == 1 else values for name, values in data.items()}
