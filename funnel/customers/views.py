"""Customers (客户) and their contacts: list, detail, create and edit.

Every lookup goes through the visibility rule (funnel.access); every write through funnel.customers.services.
"""

import base64
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import models, transaction
from django.db.models import Count, DecimalField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_http_methods

from config.parsing import parse_cursor
from config.redirects import safe_next
from reps.models import User

from ..access import get_account_for_user, get_contact_for_user
from ..models import Account, Opportunity, StageChange
from . import services
from .filters import AccountFilterForm
from .forms import AccountCreateForm, AccountForm, ContactForm

PAGE_SIZE = 25
HISTORY_SIZE = 20


# --- reads ---------------------------------------------------------------------------------------


def _open_deals(user: User) -> QuerySet[Opportunity]:
    """The open opportunities of the outer customer that `user` may see, grouped to one row."""
    deals = Opportunity.objects.visible_to(user).open().filter(account=OuterRef("pk"))
    return deals.order_by().values("account")


def account_rows(user: User, query: str) -> QuerySet[Account]:
    """Visible customers with their open deals counted and summed (only deals the user may see)."""
    deals = _open_deals(user)
    money = DecimalField(max_digits=14, decimal_places=2)
    accounts = (
        Account.objects.visible_to(user)
        .select_related("owner", "territory")
        .annotate(
            open_count=Coalesce(Subquery(deals.annotate(n=Count("pk")).values("n")), 0),
            open_amount=Coalesce(Subquery(deals.annotate(s=Sum("amount")).values("s")), Value(0), output_field=money),
        )
    )
    if query:
        accounts = accounts.filter(Q(name__icontains=query) | Q(city__icontains=query) | Q(industry__icontains=query))
    return accounts


@dataclass
class KeysetPage:
    """One page of customers in (name, id) order, found from the last row seen, so page 1000 costs what page 1 does."""

    rows: list
    next_cursor: str | None
    previous_cursor: str | None

    @staticmethod
    def encode(row: Account) -> str:
        return base64.urlsafe_b64encode(json.dumps([row.name, row.pk]).encode()).decode()

    @staticmethod
    def decode(cursor: str) -> tuple[str, int] | None:
        """The (name, id) a cursor holds; None for a malformed one, which means the first page."""
        parsed = parse_cursor(cursor)
        return parsed if parsed and isinstance(parsed[0], str) else None

    @classmethod
    def of(cls, accounts: QuerySet[Account], after: str, before: str) -> "KeysetPage":
        if (key := cls.decode(before)) is not None:
            name, pk = key
            rows = list(
                accounts.filter(Q(name__lt=name) | Q(name=name, pk__lt=pk)).order_by("-name", "-pk")[: PAGE_SIZE + 1]
            )
            more, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE][::-1]
            return cls(rows, cls.encode(rows[-1]) if rows else None, cls.encode(rows[0]) if more else None)
        key = cls.decode(after)
        if key is not None:
            name, pk = key
            accounts = accounts.filter(Q(name__gt=name) | Q(name=name, pk__gt=pk))
        rows = list(accounts.order_by("name", "pk")[: PAGE_SIZE + 1])
        more, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
        previous = cls.encode(rows[0]) if key is not None and rows else None
        return cls(rows, cls.encode(rows[-1]) if more else None, previous)


# --- idempotent create (QUALITY R9) -------------------------------------------------------------


class FormOnce:
    """A per-form token kept in the session: the first POST carrying it creates, a later one gets what
    the first created. Concurrent POSTs are serialised on the user's row, and the session is re-read
    and saved inside that lock, so two submits 50 ms apart still create one record.
    """

    KEEP = 20  # tokens remembered per kind of form

    def __init__(self, request: HttpRequest, kind: str):
        self.request, self.key = request, f"form_once:{kind}"

    def _tokens(self, *, fresh: bool = False) -> dict:
        session = self.request.session
        if fresh and session.session_key:
            return session.__class__(session.session_key).load().get(self.key, {})
        return session.get(self.key, {})

    def token(self, posted: str = "") -> str:
        """The posted token while it is still unused, otherwise a new one."""
        tokens = self._tokens()
        if posted in tokens and tokens[posted] is None:
            return posted
        token = secrets.token_urlsafe(16)
        self.request.session[self.key] = dict(list(tokens.items())[-(self.KEEP - 1) :]) | {token: None}
        return token

    def result(self, token: str) -> int | None:
        """The pk created by the first POST of this token, if there was one."""
        return self._tokens().get(token)

    def run(self, token: str, create: Callable[[], models.Model]) -> int | None:
        """Creates once per token and returns the pk; None for a token this session never issued."""
        with transaction.atomic():
            User.objects.select_for_update().get(pk=self.request.user.pk)
            tokens = self._tokens(fresh=True)
            if token not in tokens:
                return None
            if tokens[token] is None:
                tokens[token] = create().pk
                self.request.session[self.key] = tokens
                self.request.session.save()
            return tokens[token]


EXPIRED = _lazy("This form had expired. Check the values and save again.")


# --- pages ---------------------------------------------------------------------------------------


@login_required
def account_list(request: HttpRequest) -> HttpResponse:
    filters = AccountFilterForm(request.GET, user=request.user)
    rows = filters.apply(account_rows(request.user, filters.query))
    page = KeysetPage.of(rows, request.GET.get("after", ""), request.GET.get("before", ""))
    context = {"page": page, "query": filters.query, "filters": filters}
    return render(request, "funnel/accounts/list.html", context)


@login_required
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_account_for_user(request, pk)
    opportunities = (
        Opportunity.objects.visible_to(request.user).filter(account=account).select_related("stage", "owner")
    )
    history = (
        StageChange.objects.visible_to(request.user)
        .filter(opportunity__account=account)
        .select_related("opportunity", "from_stage", "to_stage", "by")
        .order_by("-at", "-id")[:HISTORY_SIZE]
    )
    context = {"account": account, "contacts": account.contacts.all(), "opportunities": opportunities}
    return render(request, "funnel/accounts/detail.html", context | {"history": history})


@login_required
@require_http_methods(["GET", "POST"])
def account_create(request: HttpRequest) -> HttpResponse:
    once, token = FormOnce(request, "account_create"), request.POST.get("once", "")
    if (done := once.result(token)) is not None:
        return redirect("customers:detail", done)  # a repeated submit: show what the first one made
    form = AccountCreateForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        owner = form.cleaned_data.get("owner", request.user)
        details, territory = form.details(), form.cleaned_data.get("territory")
        create = partial(services.account_create, by=request.user, owner=owner, data=details, territory=territory)
        if (pk := once.run(token, create)) is not None:
            messages.success(request, _lazy("Customer “%(name)s” created.") % {"name": form.cleaned_data["name"]})
            return redirect(safe_next(request) or reverse("customers:detail", args=[pk]))
        form.add_error(None, EXPIRED)
    return render(request, "funnel/accounts/form.html", {"form": form, "once": once.token(token)})


@login_required
@require_http_methods(["GET", "POST"])
def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_account_for_user(request, pk)
    fingerprint, conflict = services.account_fingerprint(account), None
    form = AccountForm(request.POST or None, instance=account, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.account_update(
                account=account,
                by=request.user,
                fingerprint=request.POST.get("fingerprint", ""),
                data=form.details(),
                owner=form.cleaned_data.get("owner"),
                territory=form.cleaned_data.get("territory"),
            )
            return redirect("customers:detail", account.pk)
        except services.StaleAccount as error:
            conflict, fingerprint = error.current, services.account_fingerprint(error.current)
            form.add_error(None, str(error))
    context = {"form": form, "account": account, "fingerprint": fingerprint, "conflict": conflict}
    return render(request, "funnel/accounts/form.html", context, status=409 if conflict else 200)


@login_required
@require_http_methods(["GET", "POST"])
def contact_create(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_account_for_user(request, pk)
    once, token = FormOnce(request, "contact_create"), request.POST.get("once", "")
    if once.result(token) is not None:
        return redirect(_contacts_of(account))
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        create = partial(services.contact_create, account=account, by=request.user, data=form.cleaned_data)
        if once.run(token, create) is not None:
            return redirect(_contacts_of(account))
        form.add_error(None, EXPIRED)
    context = {"form": form, "account": account, "once": once.token(token)}
    return render(request, "funnel/accounts/contact_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_contact_for_user(request, pk)
    form = ContactForm(request.POST or None, instance=contact)
    if request.method == "POST" and form.is_valid():
        services.contact_update(contact=contact, by=request.user, data=form.cleaned_data)
        return redirect(_contacts_of(contact.account))
    context = {"form": form, "account": contact.account, "contact": contact}
    return render(request, "funnel/accounts/contact_form.html", context)


def _contacts_of(account: Account) -> str:
    return reverse("customers:detail", args=[account.pk]) + "#contacts"
