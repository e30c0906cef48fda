"""Checking the rows of an import the way the screens check them (reads only): only customers the user can
see, only owners the user may assign to, an open stage and its gate.

An admin's import is a migration of existing records: it may place deals in any stage that is not
archived, won and lost included (with the date they closed, and for a lost deal its reason), and the
stage's gate is not applied; the stage change then says so. A rep's or a manager's import keeps the gates.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower, Trim
from django.utils.functional import Promise
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from config.wording import join_list
from reps.models import Territory, User
from reps.territories import territory_choices

from ..models import Account, Campaign, LostReason, Opportunity, Pipeline, Source, Stage, StageKind
from ..opportunities import services
from ..opportunities.filters import owner_choices
from .import_reading import Row, parse_amount, parse_date

PHONE = re.compile(r"^[0-9+()\-\s./#xX]*$")


@dataclass
class RowCheck:
    row: Row
    errors: list[str] = field(default_factory=list)
    data: dict = field(default_factory=dict)  # the values for the writer, when valid

    @property
    def valid(self) -> bool:
        return not self.errors


def _quoted(value: str) -> str:
    return Truncator(value).chars(60)


def name_key(name: str) -> str:
    """A customer's name as duplicates are found: spaces collapsed, case folded."""
    return " ".join(name.split()).lower()


def _in_chunks(values: Iterable[str], size: int = 500) -> Iterator[list[str]]:
    values = sorted(set(values))
    for start in range(0, len(values), size):
        yield values[start : start + size]


def visible_accounts(user: User, names: Iterable[str]) -> dict[str, list[Account]]:
    """Customers the user can see, by name as name_key spells it."""
    found: dict[str, list[Account]] = {}
    visible = Account.objects.visible_to(user).annotate(plain_name=Lower(Trim("name")))
    for chunk in _in_chunks(name for name in names if name):
        # SQL LOWER() folds ASCII only, so the names as written are matched too.
        keys = {name_key(name) for name in chunk}
        for account in visible.filter(Q(plain_name__in=keys) | Q(name__in=chunk)):
            if name_key(account.name) in keys:
                found.setdefault(name_key(account.name), []).append(account)
    return found


def _assignable(user: User, rows: list[Row]) -> dict[str, User]:
    usernames = [row.values.get("owner", "").lower() for row in rows]
    people: QuerySet[User] = owner_choices(user).annotate(plain_username=Lower("username"))
    found = {}
    for chunk in _in_chunks(name for name in usernames if name):
        found.update({person.username.lower(): person for person in people.filter(plain_username__in=chunk)})
    return found


def _owner(check: RowCheck, user: User, assignable: dict[str, User]) -> None:
    username = check.row.values.get("owner", "")
    if not username:
        check.data["owner"] = user
    elif username.lower() in assignable:
        check.data["owner"] = assignable[username.lower()]
    else:
        check.errors.append(
            _("Owner: “%(username)s” is not someone you can assign to.") % {"username": _quoted(username)}
        )


def _text(check: RowCheck, name: str, model: type, label: Promise, *, required: bool = False) -> str:
    value = check.row.values.get(name, "")
    limit = model._meta.get_field(name).max_length
    if required and not value:
        check.errors.append(_("%(column)s is required.") % {"column": label})
    elif limit and len(value) > limit:
        check.errors.append(_("%(column)s is longer than %(max)d characters.") % {"column": label, "max": limit})
    check.data[name] = value
    return value


def _website(check: RowCheck) -> None:
    value = check.row.values.get("website", "")
    if value and "://" not in value:
        value = f"https://{value}"
    try:
        if value:
            URLValidator()(value)
    except ValidationError:
        check.errors.append(_("Website: “%(value)s” is not a web address.") % {"value": _quoted(value)})
    if len(value) > 200:
        check.errors.append(_("Website is longer than %(max)d characters.") % {"max": 200})
    check.data["website"] = value


def _territory(check: RowCheck, territories: dict[str, Territory]) -> None:
    """A territory among the importer's by its name; blank is None (the writer gives it the default)."""
    name = check.row.values.get("territory", "")
    check.data["territory"] = territories.get(" ".join(name.split()).casefold()) if name else None
    if name and check.data["territory"] is None:
        check.errors.append(_("Territory: “%(value)s” is not one of your territories.") % {"value": _quoted(name)})


def _file_problems(check: RowCheck) -> None:
    if check.row.stray:
        check.errors.append(_("This row has values in a column without a header."))
    if check.row.has_nul:
        check.errors.append(
            _("This row holds a NUL character (shown as ␀), which cannot be stored. Remove it and upload again.")
        )


# --- customers -----------------------------------------------------------------------------------
def duplicate_error(name: str) -> str:
    return _("You already have a customer named “%(name)s”.") % {"name": _quoted(name)}


def check_customer_rows(rows: list[Row], *, user: User) -> list[RowCheck]:
    """Each row with its problems: name required and new to the user and to the file, owner, phone, website,
    territory."""
    existing = visible_accounts(user, (row.values.get("name", "") for row in rows))
    assignable = _assignable(user, rows)
    territories = {territory.name.casefold(): territory for territory in territory_choices(user)}
    first_row_of: dict[str, int] = {}
    checks = []
    for row in rows:
        check = RowCheck(row)
        name = _text(check, "name", Account, _("Name"), required=True)
        key = name_key(name)
        if key and key in existing:
            check.errors.append(duplicate_error(name))
        elif key and key in first_row_of:
            check.errors.append(
                _("Row %(row)d of this file already has the name “%(name)s”.")
                % {"row": first_row_of[key], "name": _quoted(name)}
            )
        first_row_of.setdefault(key, row.number)
        _owner(check, user, assignable)
        for column in ("industry", "city", "address", "notes"):
            _text(check, column, Account, Account._meta.get_field(column).verbose_name)
        phone = _text(check, "phone", Account, _("Phone"))
        if not PHONE.match(phone):
            check.errors.append(_("Phone: use digits, spaces and + - ( ) / . # only."))
        _website(check)
        _territory(check, territories)
        _file_problems(check)
        checks.append(check)
    return checks


def recheck_customer_duplicates(checks: list[RowCheck], *, user: User) -> None:
    """Marks the valid rows whose name a customer the user can see now has (another import's, meanwhile)."""
    existing = visible_accounts(user, (check.data["name"] for check in checks if check.valid))
    for check in checks:
        if check.valid and name_key(check.data["name"]) in existing:
            check.errors.append(duplicate_error(check.data["name"]))


# --- opportunities -------------------------------------------------------------------------------
@dataclass
class _OpportunityContext:
    user: User
    pipeline: Pipeline | None
    accounts: dict[str, list[Account]]
    assignable: dict[str, User]
    stages: dict[str, Stage]
    first_stage: Stage | None
    sources: dict[str, Source]
    campaigns: dict[str, Campaign]
    lost_reasons: dict[str, LostReason]
    today: date

    @property
    def migration(self) -> bool:
        """An admin's import brings existing records over: any stage, gates not applied."""
        return self.user.is_admin


def _opportunity_context(rows: list[Row], *, user: User, pipeline: Pipeline | None) -> _OpportunityContext:
    stages = list(pipeline.stages.order_by("order")) if pipeline else []
    open_stages = [stage for stage in stages if stage.kind == StageKind.OPEN and not stage.is_archived]
    return _OpportunityContext(
        user=user,
        pipeline=pipeline,
        accounts=visible_accounts(user, (row.values.get("customer", "") for row in rows)),
        assignable=_assignable(user, rows),
        stages={stage.name.casefold(): stage for stage in stages},
        first_stage=open_stages[0] if open_stages else None,
        sources={source.name.casefold(): source for source in Source.objects.filter(is_active=True)},
        campaigns={
            campaign.name.casefold(): campaign
            for campaign in Campaign.objects.filter(is_active=True).select_related("source")
        },
        lost_reasons={reason.name.casefold(): reason for reason in LostReason.objects.filter(is_active=True)},
        today=user.local_now().date(),
    )


def _customer(check: RowCheck, context: _OpportunityContext) -> None:
    name = check.row.values.get("customer", "")
    matches = context.accounts.get(name_key(name), [])
    if not name:
        check.errors.append(_("Customer is required."))
    elif not matches:
        check.errors.append(_("There is no customer named “%(name)s” that you can see.") % {"name": _quoted(name)})
    elif len(matches) > 1:
        check.errors.append(
            _("%(count)d customers you can see are named “%(name)s”; rename one so the file can tell them apart.")
            % {"count": len(matches), "name": _quoted(name)}
        )
    else:
        check.data["account"] = matches[0]


def _stage(check: RowCheck, context: _OpportunityContext) -> Stage | None:
    name = check.row.values.get("stage", "")
    if context.pipeline is None or not context.pipeline.is_active:
        check.errors.append(_("There is no active pipeline to import into."))
        return None
    stage = context.stages.get(name.casefold()) if name else context.first_stage
    if stage is None:
        check.errors.append(
            _("Stage: “%(stage)s” is not a stage of “%(pipeline)s”.")
            % {"stage": _quoted(name), "pipeline": context.pipeline.name}
            if name
            else _("“%(pipeline)s” has no open stage.") % {"pipeline": context.pipeline.name}
        )
    elif stage.is_archived:
        check.errors.append(_("Stage: “%(stage)s” is archived.") % {"stage": stage.name})
        return None
    elif stage.kind != StageKind.OPEN and not context.migration:
        check.errors.append(
            _("Stage: a new opportunity starts in an open stage, and “%(stage)s” is not one.") % {"stage": stage.name}
        )
        return None
    return stage


def _date(check: RowCheck, name: str, label: str) -> date | None:
    value = check.row.values.get(name, "")
    if not value:
        return None
    try:
        check.data[name] = parse_date(value)
    except ValueError:
        check.errors.append(
            _("%(column)s: “%(value)s” is not a date written as YYYY-MM-DD or YYYY/MM/DD.")
            % {"column": label, "value": _quoted(value)}
        )
        return None
    return check.data[name]


def _number_and_dates(check: RowCheck, context: _OpportunityContext) -> None:
    values = check.row.values
    if values.get("amount"):
        try:
            check.data["amount"] = parse_amount(values["amount"])
        except ValueError:
            check.errors.append(
                _("Amount: “%(value)s” is not an amount of money, such as 1200000 or 1,200,000.00.")
                % {"value": _quoted(values["amount"])}
            )
    _date(check, "expected_close_date", _("Expected close date"))
    _date(check, "next_step_date", _("Next step date"))
    source = values.get("source", "")
    if source and source.casefold() not in context.sources:
        check.errors.append(_("Source: “%(value)s” is not one of the active sources.") % {"value": _quoted(source)})
    elif source:
        check.data["source"] = context.sources[source.casefold()]
    _campaign(check, context)


def _campaign(check: RowCheck, context: _OpportunityContext) -> None:
    """An active campaign by its name; with no source in the row, the deal comes from the campaign's source (as
    services.with_campaign_source does for a deal saved on its page)."""
    name = check.row.values.get("campaign", "")
    if name and name.casefold() not in context.campaigns:
        check.errors.append(_("Campaign: “%(value)s” is not one of the active campaigns.") % {"value": _quoted(name)})
    elif name:
        check.data["campaign"] = context.campaigns[name.casefold()]
        check.data.update(services.with_campaign_source(check.data))


def _closing(check: RowCheck, stage: Stage | None, context: _OpportunityContext) -> None:
    """A won or lost deal's close date (and a lost deal's reason); neither belongs on an open deal."""
    values = check.row.values
    closed = stage is not None and stage.kind != StageKind.OPEN
    if not closed:
        if values.get("closed_date") or values.get("lost_reason"):
            check.errors.append(_("Closed date and lost reason are only for a won or lost deal."))
        return
    day = _date(check, "closed_date", _("Closed date"))
    if day is None and not values.get("closed_date"):
        check.errors.append(_("Closed date is required for a won or lost deal."))
    elif day is not None and day > context.today:
        check.errors.append(_("Closed date: %(date)s is in the future.") % {"date": day.isoformat()})
    elif day is not None:  # midday in the importer's zone, so the day reads the same nearly everywhere
        check.data["closed_at"] = datetime.combine(day, time(12), tzinfo=ZoneInfo(context.user.time_zone))
    reason = values.get("lost_reason", "")
    if stage.kind == StageKind.WON and reason:
        check.errors.append(_("Lost reason is only for a lost deal."))
    elif stage.kind == StageKind.LOST and reason.casefold() not in context.lost_reasons:
        check.errors.append(
            _("Lost reason: “%(value)s” is not one of the active reasons.") % {"value": _quoted(reason)}
            if reason
            else _("Lost reason is required for a lost deal.")
        )
    elif stage.kind == StageKind.LOST:
        check.data["lost_reason"] = context.lost_reasons[reason.casefold()]


def _gate(check: RowCheck, stage: Stage, context: _OpportunityContext) -> None:
    fields = {name: check.data[name] for name in services.EDITABLE_FIELDS if name in check.data}
    missing, unchecked = services.stage_gate_problems(Opportunity(pipeline=context.pipeline, **fields), stage)
    if context.migration:  # a migration brings the deal over as it stands; the stage change says what was skipped
        check.data["note"] = (
            _("Imported; the stage's checklist and required fields were not confirmed.")
            if missing or unchecked
            else _("Imported")
        )
        return
    check.data["note"] = _("Imported")
    if missing:
        check.errors.append(
            _("Before entering “%(stage)s”, fill in %(fields)s.") % {"stage": stage.name, "fields": join_list(missing)}
        )
    if unchecked:
        check.errors.append(
            _("“%(stage)s” has a checklist, which cannot be confirmed in a file. Import into an earlier stage.")
            % {"stage": stage.name}
        )


def check_opportunity_rows(rows: list[Row], *, user: User, pipeline: Pipeline | None) -> list[RowCheck]:
    """Each row with its problems: customer the user can see, owner, stage (and its gate), values."""
    context = _opportunity_context(rows, user=user, pipeline=pipeline)
    checks = []
    for row in rows:
        check = RowCheck(row)
        _text(check, "name", Opportunity, _("Name"), required=True)
        _customer(check, context)
        _owner(check, user, context.assignable)
        stage = _stage(check, context)
        _number_and_dates(check, context)
        _closing(check, stage, context)
        _text(check, "next_step", Opportunity, _("Next step"))
        _text(check, "description", Opportunity, _("Description"))
        if stage is not None:
            check.data["stage"] = stage
            _gate(check, stage, context)
        _file_problems(check)
        checks.append(check)
    return checks


def recheck_opportunities(checks: list[RowCheck], *, user: User, archived: set[int]) -> None:
    """Marks the valid rows whose customer or owner left the user's view, or whose stage was archived,
    since they were checked (`archived`: the ids of the rows' stages archived now)."""
    valid = [check for check in checks if check.valid]
    account_ids = {check.data["account"].pk for check in valid}
    accounts = set(Account.objects.visible_to(user).filter(pk__in=account_ids).values_list("pk", flat=True))
    owner_ids = {check.data["owner"].pk for check in valid}
    owners = set(owner_choices(user).filter(pk__in=owner_ids).values_list("pk", flat=True))
    for check in valid:
        account, owner, stage = check.data["account"], check.data["owner"], check.data["stage"]
        if account.pk not in accounts:
            check.errors.append(
                _("There is no customer named “%(name)s” that you can see.") % {"name": _quoted(account.name)}
            )
        if owner.pk not in owners:
            check.errors.append(
                _("Owner: “%(username)s” is not someone you can assign to.") % {"username": owner.username}
            )
        if stage.pk in archived:
            check.errors.append(_("Stage: “%(stage)s” is archived.") % {"stage": stage.name})
