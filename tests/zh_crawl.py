"""The crawl behind tests/test_zh_crawl.py: every page a signed-in person reaches by links, and the English
left on each (runs of Latin words in the visible text, placeholders, titles and aria-labels).

Latin that belongs in Chinese business software is allowed: brand and product names, format tokens and
abbreviations (CSV, UTF-8, YYYY-MM-DD, ERP), logins and e-mail addresses (people type them).
"""

import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from django.test import Client
from django.urls import Resolver404, resolve

# Signing out ends the session and the language switch changes every later page; the rest are files, or
# Django admin (its own catalogue, and the admin's pages are not ours to word).
SKIPPED_ROUTES = {
    "reps:logout",
    "reps:set_language",
    "insights:dashboard_export",
    "insights:marketing_export",
    "transfer:import_template",
    "transfer:export_download",
}
SKIPPED_NAMESPACES = ("admin",)
ALLOWED = {
    # the product, brands and products named in help texts
    "Loudou", "Google", "Microsoft", "Authenticator", "FreeOTP", "1Password", "Excel", "WPS", "iPhone", "Android",
    "Outlook",
    # format tokens and abbreviations a Chinese sales team uses as they are
    "CSV", "UTF-8", "GBK", "GB18030", "MB", "KB", "YYYY-MM-DD", "YYYY/MM/DD", "YYYY", "MM", "DD", "UTC", "QR",
    "IT", "ERP", "CRM", "KPI", "ID", "PDF", "OK", "E",  # 三E管理
    # the language switcher names English in English
    "English",
    # a time zone newer than the CLDR's Chinese names (reps.time_zones)
    "Coyhaique",
}  # fmt: skip
LATIN_RUN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9'’./_-]*(?:[ \u00a0]+[A-Za-z][A-Za-z0-9'’./_-]*)*")
# E-mail addresses, links, @logins, paths, UTC offsets: data and formats, not words.
DATA = re.compile(r"\S+@\S+|https?://\S+|@\w+|/[\w/.-]*|UTC[+-]\d\d:\d\d")
VISIBLE_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")
HIDDEN = ("script", "style", "template", "code", "kbd")


class _Page(HTMLParser):
    """A page's visible text and labelled attributes, and the GET targets it links to."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.links: list[str] = []
        self._hidden = 0  # inside <script>, <style> or <template>; or <code>, <kbd>: keys and codes, not words

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag in HIDDEN:
            self._hidden += 1
        self.texts += [values[name] for name in VISIBLE_ATTRIBUTES if values.get(name)]
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.texts.append(values["value"])
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])
        if values.get("hx-get"):
            self.links.append(values["hx-get"])
        if tag == "form" and (values.get("method") or "get").lower() == "get" and values.get("action"):
            self.links.append(values["action"])

    def handle_endtag(self, tag):
        if tag in HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.texts.append(data)


def english_runs(html: str, allowed: set[str] = frozenset()) -> list[str]:
    """Runs of Latin words a reader sees on the page, less the allowed ones."""
    page = _Page()
    page.feed(html)
    runs = []
    for text in page.texts:
        for run in LATIN_RUN.findall(DATA.sub(" ", text)):
            words = [word.strip("./-_") for word in run.split()]
            if not all(word in ALLOWED or word in allowed or not word for word in words):
                runs.append(run)
    return runs


def links_of(html: str) -> list[str]:
    page = _Page()
    page.feed(html)
    return page.links


def route_of(url: str) -> str | None:
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return None
    if match.namespace in SKIPPED_NAMESPACES or match.view_name in SKIPPED_ROUTES:
        return None
    return match.view_name


def crawl(
    client: Client, *, allowed: set[str] = frozenset(), per_route: int = 2, max_pages: int = 250
) -> dict[str, list[tuple[str, list[str]]]]:
    """Breadth-first from the home page over same-origin GET links: per route name, the URLs fetched (at most
    `per_route`) with the English runs found on each HTML page (`allowed`: words that are data, as logins)."""
    found: dict[str, list[tuple[str, list[str]]]] = {}
    queue, seen, fetched = deque(["/"]), {"/"}, 0
    while queue and fetched < max_pages:
        url = queue.popleft()
        route = route_of(url)
        if route is None or len(found.setdefault(route, [])) >= per_route:
            continue
        response = client.get(url, follow=True)
        fetched += 1
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            found[route].append((url, [f"HTTP {response.status_code} {response['Content-Type']}"]))
            continue
        html = response.content.decode()
        found[route].append((url, english_runs(html, allowed)))
        for link in links_of(html):
            target = urljoin(url, link)
            parts = urlsplit(target)
            if parts.netloc not in ("", "testserver") or parts.scheme not in ("", "http"):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return found
