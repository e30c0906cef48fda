"""Boundary fuzz over every form and every page's query parameters (issue 11, QUALITY S35).

The targets come from the code, so a new page or form is fuzzed without being listed here:
- every route of the URLconf (Django admin aside), opened by each role on a record of its own, with the URL
  arguments the authorization matrix makes for it (tests/test_access_matrix.py lists every route);
- every <form> those pages render (its fields and their current values as the baseline), and the query and
  POST parameters each view's module reads straight from request.GET / request.POST.
Each field in turn gets each hostile value below; the rest of the form stays as the page rendered it.

Asserted per case: no response ≥ 500, and no change to the database when the input was refused (a 4xx, or
a page re-rendered with a form error). Every case runs in a savepoint that is rolled back, so each starts
from the same data. Audit rows and the dashboard's derived roll-ups are left out of the comparison: a refusal
is audited (a failed sign-in or code), and reading a page may refresh a roll-up.
"""

import base64
import functools
import hashlib
import inspect
import json
import logging
import re
import time
from collections.abc import Iterator
from copy import copy
from dataclasses import dataclass, field, replace
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

import pytest
from django import forms
from django.apps import apps
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, ContextList
from django.urls import Resolver404, resolve, reverse

from activity_log.services import daily_log_get, daily_log_submit, local_today
from funnel.models import Alert, AlertKind, StageKind
from tests.factories import AccountFactory, ContactFactory, OpportunityFactory, PipelineFactory, StageFactory
from tests.test_access_matrix import OBJECT_PAGES, PAGES, route_names

pytestmark = pytest.mark.django_db


def _cursor(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


# Each class of hostile value, with its variants: every field gets one variant of each class (chosen by the
# field's name, so a run is repeatable and the variants spread over the fields); date inputs get both far ends,
# and cursor parameters every tampered cursor.
HOSTILE = {
    "empty": [""],
    "whitespace": [" \t\u3000 "],
    "NUL": ["a\x00b"],
    "10,000 chars": ["x" * 10_000],
    "far date": ["0001-01-01", "9999-12-31T23:59", "9999-12-31", "0001-01-01T00:00"],
    "non-ASCII digits": ["²", "١٢", "１２"],
    "negative": ["-1"],
    "huge": [str(10**30), str(2**64)],
    "1e400": ["1e400"],
    "tampered cursor": [
        base64.urlsafe_b64encode(b"[1e400, 1]").decode(),
        _cursor([10**30, 2**64]),
        _cursor(["9999-12-31T23:00:00-05:00", 1]),
        _cursor(["a\x00b", 1]),
        "%%%=",
    ],
}
CURSOR_PARAMS = {"after", "before"}
DATE_INPUTS = {"date", "datetime-local"}


def values_for(name: str, input_type: str = "") -> list[tuple[str, str]]:
    """(class, value) pairs for one field: a date input gets both far ends in its own format."""
    pick = int(hashlib.sha256(name.encode()).hexdigest(), 16)
    chosen = []
    for label, variants in HOSTILE.items():
        if label == "tampered cursor":  # a cursor parameter gets each; any other field's text is covered above
            pool = variants if name in CURSOR_PARAMS else []
        elif label == "far date" and input_type in DATE_INPUTS:
            pool = [value for value in variants if ("T" in value) == (input_type == "datetime-local")]
        else:
            pool = [variants[pick % len(variants)]]
        chosen += [(label, value) for value in pool]
    return chosen


ROLES = ["anonymous", "rep", "manager", "admin"]
# What a case may change although refused: the audit trail (a refusal is audited) and the derived roll-ups.
UNCOMPARED_MODELS = {"reps.AuditEvent", "funnel.DealDay", "funnel.FlowDay", "funnel.OpenDeals", "funnel.RollupDirt",
                     "funnel.RollupState"}  # fmt: skip
UNCOMPARED_FIELDS = {"throttling_failure_timestamp", "throttling_failure_count", "last_login"}  # throttles count
COMPARED_APPS = {"reps", "funnel", "activity_log", "otp_totp", "otp_static"}
PARAM_READ = re.compile(r"""request\.(GET|POST)\.get(?:list)?\(\s*["']([\w-]+)["']""")
FORM_READ = re.compile(r"\b(\w+Form)\(\s*request\.(GET|POST)\b")
NEVER_FUZZED = {"csrfmiddlewaretoken"}
PICKER_SEARCH = "__q"  # a picker's search box: read by the picker's own endpoint (fuzzed there), not by the form
NOT_SUBMITTED = {"reps:logout"}  # signing out ends the client's session: nothing to fuzz there anyway


# --- reading the pages' forms ---------------------------------------------------------------------------------
@dataclass
class Form:
    method: str
    action: str
    multipart: bool
    values: dict[str, list[str]] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    other_actions: list[str] = field(default_factory=list)


class _Forms(HTMLParser):
    """Every <form> of a page with the values its fields would submit as rendered."""

    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.page_url, self.forms, self.current, self.select, self.textarea = page_url, [], None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for method in ("get", "post"):  # an htmx request: its URL, with the fields it includes by name
            if attrs.get(f"hx-{method}"):
                names = re.findall(r"""name=['"]?([\w-]+)""", attrs.get("hx-include") or "")
                self.forms.append(Form(method, attrs[f"hx-{method}"], False, {name: [""] for name in names}))
        if tag == "form":
            multipart = (attrs.get("enctype") or "").startswith("multipart")
            self.current = Form((attrs.get("method") or "get").lower(), attrs.get("action") or self.page_url, multipart)
            self.forms.append(self.current)
        elif self.current is not None and tag in ("button", "input") and attrs.get("formaction"):
            self.current.other_actions.append(attrs["formaction"])  # the same fields, sent elsewhere
            if attrs.get("name") and attrs.get("value") is not None:
                self.current.values.setdefault(attrs["name"], [attrs["value"]])
        elif self.current is None or not attrs.get("name"):
            return
        elif tag == "button" and attrs.get("value") is not None:  # a named submit button: its value is sent
            self.current.values.setdefault(attrs["name"], [attrs["value"]])
        elif tag == "input" and attrs.get("type") not in ("submit", "button", "file", "image", "reset"):
            self.current.types[attrs["name"]] = attrs.get("type") or "text"
            checkable = attrs.get("type") in ("checkbox", "radio")
            if not checkable or "checked" in attrs:
                self.current.values.setdefault(attrs["name"], []).append(attrs.get("value") or "")
            else:
                self.current.values.setdefault(attrs["name"], [])
        elif tag == "select":
            self.select = attrs["name"]
            self.current.values.setdefault(self.select, [])
        elif tag == "option" and self.select and "selected" in attrs:
            self.current.values[self.select].append(attrs.get("value") or "")
        elif tag == "textarea":
            self.textarea = attrs["name"]
            self.current.values[self.textarea] = [""]

    def handle_data(self, data):
        if self.current is not None and self.textarea:
            self.current.values[self.textarea] = [data]

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def page_forms(url: str, html: str) -> list[Form]:
    """The page's forms, a form once more for each button that sends it to another URL (formaction)."""
    parser = _Forms(url)
    parser.feed(html)
    return [
        replace(form, action=action)
        for form in parser.forms
        for action in dict.fromkeys([form.action, *form.other_actions])
    ]


def params_read(path: str) -> dict[str, set[str]]:
    """The query and POST parameters a view reads from the request: by name, or as the fields of a form class
    bound to request.GET / request.POST; in its own body or in the functions of its module that its body calls
    (one level: `_list_context(request)` reads `after`)."""
    return _params_of(inspect.unwrap(resolve(path).func))


@functools.cache
def _params_of(view) -> dict[str, set[str]]:
    module = inspect.getmodule(view)
    sources = [inspect.getsource(view)]
    for name, helper in vars(module).items():
        if inspect.isfunction(helper) and helper is not view and re.search(rf"\b{name}\(", sources[0]):
            sources.append(inspect.getsource(helper))
    found: dict[str, set[str]] = {"GET": set(), "POST": set()}
    for method, name in PARAM_READ.findall("\n".join(sources)):
        found[method].add(name)
    for form_name, method in FORM_READ.findall("\n".join(sources)):  # a form bound to the request: its fields
        form_class = getattr(module, form_name, None)
        if isinstance(form_class, type) and issubclass(form_class, forms.BaseForm):
            found[method] |= set(form_class.base_fields)
    return found


# --- the world and its targets --------------------------------------------------------------------------------
@dataclass
class Target:
    role: str
    method: str
    url: str
    route: str
    baseline: dict[str, list[str]]
    fields: list[str]
    multipart: bool = False
    types: dict[str, str] = field(default_factory=dict)

    def cases(self) -> Iterator[tuple[str, str, str]]:
        for name in self.fields:
            for label, value in values_for(name, self.types.get(name, "")):
                yield name, label, value


def route_of(url: str) -> str | None:
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return None
    return match.view_name


def reachable_urls(role: str, cast, made: dict) -> Iterator[tuple[str, str]]:
    """(route, url) of every route the role may open, with a record of its own where the route takes one
    (made once per kind of record and owner, in `made`)."""
    for name, statuses in PAGES.items():
        if statuses[role] in (200, 302, 405):
            yield name, reverse(name)
    for name, (make_args, table) in OBJECT_PAGES.items():
        owners = [owner for (viewer, owner), status in table.items() if viewer == role and status in (200, 302, 405)]
        if owners:
            owner = role if role in owners else owners[0]
            if (make_args, owner) not in made:
                made[make_args, owner] = make_args(cast, owner)
            yield name, reverse(name, args=made[make_args, owner])


def clients(cast, client_for) -> dict[str, Client]:
    made = {"anonymous": Client(raise_request_exception=False)}
    for role in ROLES[1:]:
        made[role] = client_for(cast[role])
        made[role].raise_request_exception = False
    return made


def collect_targets(cast, by_role: dict[str, Client], visited: set[str]) -> list[Target]:
    """Each form and each page's parameters once, fuzzed by the first role (anonymous, rep, manager, admin)
    that reaches it; a route is opened by every role that may, so each role's own records are covered."""
    targets: dict[tuple, Target] = {}
    made, post_only = {}, {}
    for role in ROLES:
        client = by_role[role]
        for route, url in reachable_urls(role, cast, made):
            visited.add(route)
            read = params_read(url)
            response = client.get(url)
            html = response.content.decode() if response.status_code == 200 and _is_html(response) else ""
            gets, types = set(read["GET"]), {}
            for form in page_forms(url, html):
                action_route = route_of(form.action)
                if action_route is None or action_route in NOT_SUBMITTED:
                    continue
                if form.method == "get" and action_route == route:
                    gets |= set(form.values)
                    types |= form.types
                    continue
                if form.method == "post":
                    post_read = params_read(urlsplit(form.action).path)["POST"]
                    fields = sorted(name for name in (set(form.values) | post_read) - NEVER_FUZZED
                                    if not name.endswith(PICKER_SEARCH))  # fmt: skip
                    key = ("post", action_route, tuple(fields))
                    targets.setdefault(key, Target(role, "post", form.action, action_route, form.values, fields,
                                                   form.multipart, form.types))  # fmt: skip
            if response.status_code == 405 and read["POST"]:  # a POST no page renders as a <form> for this role
                post_only[route] = Target(role, "post", url, route, {}, sorted(read["POST"] - NEVER_FUZZED))
            if response.status_code == 200:
                base = dict(parse_qsl(urlsplit(url).query))
                fields = sorted(name for name in gets - NEVER_FUZZED if not name.endswith(PICKER_SEARCH))
                targets.setdefault(("get", route), Target(role, "get", url, route, {k: [v] for k, v in base.items()},
                                                          fields, types=types))  # fmt: skip
    posted = {target.route for target in targets.values() if target.method == "post"}
    return [*targets.values(), *(target for route, target in post_only.items() if route not in posted)]


def _is_html(response) -> bool:
    return response.get("Content-Type", "").startswith("text/html")


# --- changes to the database ----------------------------------------------------------------------------------
def compared_models() -> list:
    return [model for model in apps.get_models() if model._meta.app_label in COMPARED_APPS
            and model._meta.label not in UNCOMPARED_MODELS]  # fmt: skip


WRITE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)


def written_tables(queries: list[dict], tables: set[str]) -> set[str]:
    """The compared tables a request sent a write statement to: the cheap check, per case."""
    return {match.group(1) for query in queries if (match := WRITE.match(query["sql"])) and match.group(1) in tables}


def fingerprint(models) -> dict[str, str]:
    """Every compared row, hashed per model: confirms that a write statement changed something (run only then)."""
    digests = {}
    for model in models:
        names = [f.attname for f in model._meta.concrete_fields if f.name not in UNCOMPARED_FIELDS]
        rows = [
            tuple(bytes(value) if isinstance(value, memoryview) else value for value in row)  # PostgreSQL's bytea
            for row in model._default_manager.order_by("pk").values_list(*names)
        ]
        digests[model._meta.label] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return digests


# --- running a case -------------------------------------------------------------------------------------------
def refused(response) -> bool:
    """A refusal: a 4xx, or a page shown again with a form error."""
    if response.status_code >= 400:
        return True
    if response.status_code != 200:
        return False
    if response.context is None:  # not a rendered page: a partial answer counts as accepted
        return False
    values = response.context.flatten().values()
    return any(isinstance(value, forms.BaseForm) and value.is_bound and value.errors for value in values)


def send(client: Client, target: Target, name: str, value: str):
    data = {key: list(values) for key, values in target.baseline.items()}
    data[name] = [value]
    if target.method == "get":
        return client.get(urlsplit(target.url).path, data)
    if target.multipart or "\x00" in value:  # a urlencoded NUL stops at config.middleware: a multipart one
        return client.post(target.url, data)  # reaches the view, as an attacker's would
    body = "&".join(f"{_quote(key)}={_quote(item)}" for key, items in data.items() for item in items)
    return client.post(target.url, body, content_type="application/x-www-form-urlencoded")


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


@dataclass
class Outcome:
    cases: int = 0
    errors: list = field(default_factory=list)
    changed: list = field(default_factory=list)


def fuzz(targets: list[Target], by_role: dict[str, Client]) -> Outcome:
    outcome, models = Outcome(), compared_models()
    tables, before = {model._meta.db_table for model in models}, fingerprint(models)
    for target in targets:
        client = by_role[target.role]
        for name, label, value in target.cases():
            outcome.cases += 1
            connection.queries_log.clear()  # only this case's statements are looked at
            with transaction.atomic(), CaptureQueriesContext(connection) as queries:
                response = send(client, target, name, value)
                where = f"{target.role} {target.method.upper()} {target.url} {name}={label} {value[:30]!r}"
                if response.status_code >= 500:
                    outcome.errors.append(f"{response.status_code} {where}")
                elif refused(response) and written_tables(queries.captured_queries, tables):
                    after = fingerprint(models)
                    if changed := sorted(label for label, digest in after.items() if before[label] != digest):
                        outcome.changed.append(f"{response.status_code} {where} changed {changed}")
                transaction.set_rollback(True)
    return outcome


@pytest.fixture
def world(cast, pipeline, stages):
    """Each role's own records, so lists, cursors and every form have something to work on: open and won deals,
    contacts, an open alert (acknowledge, snooze), yesterday's submitted log (review, comment), an archived
    stage (unarchive) and a second pipeline (make default)."""
    for who in ("rep", "teammate", "manager", "other_rep", "admin"):
        for _ in range(3):
            deal = OpportunityFactory(owner=cast[who])
        ContactFactory(account=AccountFactory(owner=cast[who]))
        ContactFactory(account=deal.account)
        OpportunityFactory(owner=cast[who], stage=stages["Won"], status=StageKind.WON)
        Alert.objects.create(kind=AlertKind.STALLED, key=f"stalled:opp:{deal.pk}", rep=cast[who], opportunity=deal)
    log = daily_log_get(rep=cast["rep"], day=local_today(cast["rep"]) - timedelta(days=1))
    daily_log_submit(log=log, by=cast["rep"], summary="Visited two customers", problems="", support_needed="Pricing")
    other = PipelineFactory(name="Service contracts")
    StageFactory(pipeline=other, name="Archived one", is_archived=True)
    StageFactory(pipeline=other, name="Open one")
    return cast


def _page_context_only(store, signal, sender, template, context, **kwargs):
    """The test client copies the context of every template a page renders (hundreds with crispy forms): keep
    the page's own, the first, which holds its forms (the copies cost a tenth of the run)."""
    if "context" not in store:
        store["context"], store["templates"] = ContextList([copy(context)]), [template]


@pytest.fixture
def quiet():
    """Thousands of refusals log a warning (and audits a line) each: only errors are kept, as 5xx are."""
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


def test_no_input_is_a_server_error_or_changes_data_when_refused(world, client_for, monkeypatch, quiet):
    monkeypatch.setattr("django.test.client.store_rendered_templates", _page_context_only)
    started, cpu_started = time.monotonic(), time.process_time()
    by_role, visited = clients(world, client_for), set()
    targets = collect_targets(world, by_role, visited)
    assert route_names() <= visited  # every route is opened (its forms read) by some role
    outcome = fuzz(targets, by_role)
    elapsed, cpu = time.monotonic() - started, time.process_time() - cpu_started
    print(f"\nboundary fuzz: {len(targets)} targets, {outcome.cases} cases, {elapsed:.1f} s ({cpu:.1f} s CPU)")
    print("not fuzzed:", sorted(route_names() - {target.route for target in targets if target.fields}))
    assert not outcome.errors, "\n".join(outcome.errors)
    assert not outcome.changed, "\n".join(outcome.changed)
    assert outcome.cases > 1000
