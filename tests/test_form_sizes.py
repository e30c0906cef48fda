"""No unbounded choice list (issue 12): every page of the project, forms included, rendered for an admin over a
large book, holds no <select> with more than MAX_OPTIONS options; customers, deals, contacts and people are
pickers (funnel.search.pickers). The pages come from the access matrix and Django admin's registry, so a new page or a
new form is covered without being listed here."""

from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from funnel.models import Account, Contact, Opportunity, Stage, StageKind
from reps.models import Role, User
from tests.test_access_matrix import OBJECT_PAGES, PAGES

MAX_OPTIONS = 200
# Lists that do not grow with the data: the tz database's ~600 zones.
FIXED_LISTS = {"time_zone"}
# Known gaps, each a (url, select name) pair: none left (the handover's "from" is a person picker since issue 14).
ALLOWED_FOR_NOW: set[tuple[str, str]] = set()
BOOK = 300  # customers, deals and contacts
PEOPLE = 250


class _Selects(HTMLParser):
    """The number of options in each <select> of a page (and of a bare list of options, as a picker answers)."""

    def __init__(self):
        super().__init__()
        self.counts: list[tuple[str, int]] = []
        self.current: str | None = None
        self.loose = 0

    def handle_starttag(self, tag, attrs):
        if tag == "select":
            self.current = dict(attrs).get("name") or "?"
            self.counts.append((self.current, 0))
        elif tag == "option":
            if self.current is None:
                self.loose += 1
            else:
                name, count = self.counts[-1]
                self.counts[-1] = (name, count + 1)

    def handle_endtag(self, tag):
        if tag == "select":
            self.current = None


def selects(html: str) -> list[tuple[str, int]]:
    reader = _Selects()
    reader.feed(html)
    return reader.counts + ([("(options)", reader.loose)] if reader.loose else [])


@pytest.fixture
def large_book(cast, pipeline):
    """An admin's view of 300 customers, deals and contacts and 250 more people, written in bulk."""
    team = cast["rep"].team
    people = User.objects.bulk_create(
        User(username=f"bulk{n}", first_name="Bulk", last_name=f"Person {n}", role=Role.REP, team=team)
        for n in range(PEOPLE)
    )
    accounts = Account.objects.bulk_create(
        Account(name=f"Bulk customer {n}", owner=people[n % PEOPLE]) for n in range(BOOK)
    )
    Contact.objects.bulk_create(Contact(account=accounts[n], name=f"Bulk contact {n}") for n in range(BOOK))
    stage = Stage.objects.filter(pipeline=pipeline, kind=StageKind.OPEN).order_by("order").first()
    Opportunity.objects.bulk_create(
        Opportunity(name=f"Bulk deal {n}", account=accounts[n], owner=people[n % PEOPLE], pipeline=pipeline,
                    stage=stage, status=StageKind.OPEN)
        for n in range(BOOK)
    )  # fmt: skip
    return accounts


def admin_pages(request) -> list[str]:
    """Django admin's list, add and change (or view) pages of every registered model."""
    urls = [reverse("admin:index")]
    for model, model_admin in admin.site._registry.items():
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls.append(reverse(f"{prefix}_changelist"))
        if model_admin.has_add_permission(request):
            urls.append(reverse(f"{prefix}_add"))
        first = model.objects.order_by("pk").first()
        if first is not None:
            urls.append(reverse(f"{prefix}_change", args=[first.pk]))
    return urls


def app_pages(cast, client) -> list[str]:
    """Every page of the access matrix an admin can open: routes without an id, and each record route with a
    record an admin may open (their own, where only the owner may)."""
    urls = [reverse(name) for name, statuses in PAGES.items() if statuses["admin"] == 200]
    for name, (make_args, table) in OBJECT_PAGES.items():
        for owner in [None] if (("admin", None) in table) else ["rep", "admin"]:
            url = reverse(name, args=make_args(cast, owner))
            if client.get(url).status_code == 200:
                urls.append(url)
                break
    urls += [reverse("opportunities:detail", args=[Opportunity.objects.first().pk])]
    urls += [f"{reverse('log:activity_new')}?account={Account.objects.first().pk}"]
    return urls


@pytest.mark.django_db
def test_no_page_holds_a_select_that_grows_with_the_data(large_book, cast, client_for):
    client = client_for(cast["admin"])
    request = RequestFactory().get("/")
    request.user = cast["admin"]
    urls = app_pages(cast, client) + admin_pages(request)
    too_long, rendered = [], 0
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        if response.streaming or not response["Content-Type"].startswith("text/html"):
            continue  # a CSV file
        found = selects(response.content.decode())
        rendered += len(found)
        too_long += [
            (url, name, count)
            for name, count in found
            if count > MAX_OPTIONS and name not in FIXED_LISTS and (url, name) not in ALLOWED_FOR_NOW
        ]
    assert rendered > 20  # the pages do hold selects: the reader reads them
    assert not too_long, too_long


def test_the_reader_counts_options():
    html = '<select name="a"><option>1</option><option>2</option></select><option value="x">y</option>'
    assert selects(html) == [("a", 2), ("(options)", 1)]
