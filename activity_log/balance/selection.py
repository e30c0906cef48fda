"""The move form of the load balance page: one rep's customers, a page at a time (keyset by name), each with the
rep's open deals there (count and weighted amount); the ticked customers carried from page to page; the
receiver, a person picker over the active reps of the same team."""

import base64
import json

from django import forms
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from config.parsing import parse_cursor, parse_id
from funnel.insights.metrics import WEIGHTED_AMOUNT, ZERO
from funnel.models import Account, Opportunity, StageKind
from funnel.search import pickers
from funnel.search.pickers import PickerField
from reps.models import Team, User

from .services import MOVE_LIMIT, team_reps

CUSTOMERS_PER_PAGE = 25


def picked_ids(data: QueryDict) -> list[int]:
    """The ticked customers' ids, in order, without repeats; anything that is not an id is dropped (the move
    checks every one against the giver's book)."""
    ids = (parse_id(value) for value in data.getlist("pick")[: MOVE_LIMIT + 1])
    return list(dict.fromkeys(pk for pk in ids if pk is not None))


def _cursor(account: Account) -> str:
    return base64.urlsafe_b64encode(json.dumps([account.name, account.pk]).encode()).decode()


def customers_page(from_user: User, after: str) -> tuple[list[Account], str | None]:
    """A page of the rep's customers by name, after the cursor, each with `open_count` and `weighted` (the rep's
    open deals there), and the next page's cursor. Two queries."""
    accounts = Account.objects.filter(owner=from_user).order_by("name", "pk")
    key = parse_cursor(after)
    if key is not None and isinstance(key[0], str):
        name, pk = key
        accounts = accounts.filter(Q(name__gt=name) | Q(name=name, pk__gt=pk))
    rows = list(accounts[: CUSTOMERS_PER_PAGE + 1])
    more, rows = len(rows) > CUSTOMERS_PER_PAGE, rows[:CUSTOMERS_PER_PAGE]
    deals = {
        row["account"]: row
        for row in Opportunity.objects.filter(owner=from_user, status=StageKind.OPEN, account__in=rows)
        .values("account")
        .annotate(n=Count("*"), weighted=Coalesce(Sum(WEIGHTED_AMOUNT), ZERO))
        .order_by()
    }
    for account in rows:
        found = deals.get(account.pk, {})
        account.open_count, account.weighted = found.get("n", 0), found.get("weighted", 0)
    return rows, _cursor(rows[-1]) if more else None


class ReceiverForm(forms.Form):
    """Who receives: an active rep of the giver's team, not the giver (a picker: a team may be large)."""

    to = PickerField("person", label=_("Move them to"))

    def __init__(self, data, *, user: User, team: Team, from_user: User):
        super().__init__(data)
        pickers.setup(self, user)
        self.fields["to"].queryset = team_reps(team).exclude(pk=from_user.pk)
        refusal = _("Choose another active rep of %(team)s.") % {"team": team}
        self.fields["to"].error_messages["invalid_choice"] = refusal.replace("%", "%%")  # Django formats it again
