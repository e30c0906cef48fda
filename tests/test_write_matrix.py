"""The write matrix (QUALITY G-A2, S2, S3, S7–S11): every route × POST × role × whose record.

Each route has one entry: who may write (`rule`), the record the POST acts on (made for its owner: the
viewer's own, a teammate's, another team's), and the payload a real page would send. An allowed POST must
change what the database holds; a refused one answers 404 (a record out of view), 403 (a role gate) or the
form again, and changes nothing at all. `test_every_route_has_a_write_entry` fails on a new route until it
has an entry here. The GET matrix is tests/test_access_matrix.py.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from activity_log import services as log_services
from activity_log.models import (
    Activity,
    ActivityKind,
    Amendment,
    CalendarFeed,
    Comment,
    DailyLog,
    Notification,
    NotificationKind,
    OutboxReceipt,
    PlanItem,
    ReminderSent,
    ReminderSetting,
)
from funnel.models import (
    Account,
    Alert,
    AlertKind,
    Campaign,
    Contact,
    ExportJob,
    HealthSettings,
    ImportBatch,
    LostReason,
    MarketingCost,
    Opportunity,
    Pipeline,
    Source,
    Stage,
    StageChange,
    Target,
)  # fmt: skip
from reps.models import Handover, HandoverItem, HandoverReceipt, Quota, Team, Territory, User
from reps.quotas import quarter_of
from tests.factories import PASSWORD, AccountFactory, ContactFactory, OpportunityFactory
from tests.html_forms import form_data
from tests.test_access_matrix import route_names

OK = "changed"  # the POST is allowed: 2xx or 3xx, and the database holds the change
VIEWERS = ["rep", "manager", "admin"]
# Whose record, seen from each viewer: a manager's teammate is a member of the team they manage; an admin
# has no team, so theirs is a rep's.
OWNER = {
    "rep": {"own": "rep", "teammate": "teammate", "other team": "other_rep"},
    "manager": {"own": "manager", "teammate": "rep", "other team": "other_rep"},
    "admin": {"own": "admin", "teammate": "rep", "other team": "other_rep"},
}


# --- who may write ----------------------------------------------------------------------------------------


def sees(viewer: str, relation: str) -> bool:
    """The visibility rule (reps.models.owner_scope_q), from the viewer's side."""
    return viewer == "admin" or relation == "own" or (viewer == "manager" and relation == "teammate")


def in_view(refused: int = 404) -> Callable[[str, str], Any]:
    """Whoever sees the record may write it; anyone else gets `refused` (a form that does not offer a
    record out of view answers with the form again)."""
    return lambda viewer, relation: OK if sees(viewer, relation) else refused


def own_only(viewer: str, relation: str):
    """Only the record's owner (a daily log, an upload): everyone else gets 404, managers and admins too."""
    return OK if relation == "own" else 404


def admin_only(viewer: str, relation: str):
    return OK if viewer == "admin" else 403


def anyone(viewer: str, relation: str):
    """The user's own things (their preferences, uploads, exports): nobody else's record is involved."""
    return OK


def managers_on_what_they_see(viewer: str, relation: str):
    """Alerts: out of view 404; reps read their alerts but do not act on them (403)."""
    if not sees(viewer, relation):
        return 404
    return 403 if viewer == "rep" else OK


def reviewers(viewer: str, relation: str):
    """A submitted log is marked reviewed by those who see it, never by its own rep (refused with a message)."""
    if not sees(viewer, relation):
        return 404
    return 302 if relation == "own" else OK


def reassigners(viewer: str, relation: str):
    """A deal goes to someone else in view; a rep sees nobody else, so the form refuses (400)."""
    if not sees(viewer, relation):
        return 404
    return 400 if viewer == "rep" else OK


def wrong_code(statuses: dict) -> Callable[[str, str], Any]:
    return lambda viewer, relation: statuses[viewer]


SINGLE = ["-"]  # routes whose rule does not depend on a record's owner: one case per viewer


# --- records, made for their owner ---------------------------------------------------------------------------


def stage(name: str) -> Stage:
    return Stage.objects.get(pipeline__is_default=True, name=name)


def calibrated_stage(cast, owner) -> Stage:
    """Proposal with 20 closed deals behind it, all lost: its history says 0 %, a figure an admin may accept."""
    proposal, lost = stage("Proposal"), stage("Lost")
    for _ in range(20):
        closed = OpportunityFactory(owner=cast["rep"], stage=lost, status=lost.kind)
        StageChange.objects.create(opportunity=closed, to_stage=proposal, at=timezone.now() - timedelta(days=5))
    return proposal


def deal(cast, owner: User) -> Opportunity:
    return OpportunityFactory(owner=owner, stage=stage("Qualified"), name="Matrix deal")


def won_deal(cast, owner: User) -> Opportunity:
    return OpportunityFactory(owner=owner, stage=stage("Won"), closed_at=timezone.now(), name="Matrix deal")


def account(cast, owner: User) -> Account:
    return AccountFactory(owner=owner, name="Matrix customer")


def contact(cast, owner: User) -> Contact:
    return ContactFactory(account=account(cast, owner), name="Matrix contact")


def alert(cast, owner: User) -> Alert:
    opportunity = deal(cast, owner)
    return Alert.objects.create(kind=AlertKind.STALLED, key=f"stalled:opp:{opportunity.pk}", rep=owner,
                                opportunity=opportunity)  # fmt: skip


def daily_log(cast, owner: User) -> DailyLog:
    return log_services.daily_log_get(rep=owner, day=log_services.local_today(owner))


def submitted_log(cast, owner: User) -> DailyLog:
    return log_services.daily_log_submit(log=daily_log(cast, owner), by=owner, summary="Matrix day")


def plan_item(cast, owner: User) -> PlanItem:
    return PlanItem.objects.create(daily_log=daily_log(cast, owner), kind=visit(), account=account(cast, owner))


def planned_deal(cast, owner: User) -> PlanItem:
    """A plan item of today with an open deal (its move is offered on the day page)."""
    opportunity = deal(cast, owner)
    return PlanItem.objects.create(daily_log=daily_log(cast, owner), kind=visit(), account=opportunity.account,
                                   opportunity=opportunity)  # fmt: skip


def activity(cast, owner: User) -> Activity:
    data = {"kind": visit(), "account": account(cast, owner), "when": timezone.now(), "outcome": "Matrix visit"}
    return log_services.activity_record(rep=owner, data=data)


def upload(cast, owner: User, **fields) -> ImportBatch:
    return ImportBatch.objects.create(created_by=owner, kind="customers", text="name\nMatrix import\n", **fields)


def stalled_upload(cast, owner: User) -> ImportBatch:
    """An import whose worker died a day ago: its creator may start it again."""
    return upload(cast, owner, status="importing", progress_at=timezone.now() - timedelta(days=1))


def export_of(cast, owner: User) -> ExportJob:
    return ExportJob.objects.create(created_by=owner, status="ready", size=0, finished_at=timezone.now())


def person(cast, owner: User) -> User:
    return owner


def visit() -> ActivityKind:
    return ActivityKind.objects.get(name="Visit")


def second_pipeline(cast, owner) -> Pipeline:
    return Pipeline.objects.create(name="Matrix pipeline")


def new_stage(cast, owner) -> Stage:
    pipeline = Pipeline.objects.get(is_default=True)
    return Stage.objects.create(pipeline=pipeline, name="Matrix stage", order=9, probability=50)


def archived_stage(cast, owner) -> Stage:
    return Stage.objects.create(
        pipeline=Pipeline.objects.get(is_default=True), name="Matrix stage", order=9, probability=50, is_archived=True
    )


def marketing_cost(cast, owner) -> MarketingCost:
    source = Source.objects.create(name="Fair")
    return MarketingCost.objects.create(source=source, period_start=date(2026, 11, 1), period_end=date(2026, 11, 30),
                                        amount=1000, updated_by=cast["admin"])  # fmt: skip


def target(cast, owner) -> Target:
    return Target.objects.create(team=cast["rep"].team, period_start=date(2026, 1, 1), period_end=date(2026, 3, 31),
                                 amount=1000, created_by=cast["admin"])  # fmt: skip


# --- the table -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Write:
    """How one route is written to. `record(cast, owner)` makes what the POST acts on; `args(record)` are the
    URL's; `post(record, cast, viewer)` is the payload. With `page`, the payload is the route's own form as
    its page shows it, posted back with `page`'s changes (a dict, or made like `post`): the page as the
    viewer sees it, or as its owner (an admin, for settings) when the viewer may not open it."""

    rule: Callable[[str, str], Any]
    record: Callable[[dict, User], Any] = lambda cast, owner: None
    post: Callable[[Any, dict, User], dict] = lambda record, cast, viewer: {}
    args: Callable[[Any], list] = lambda record: [] if record is None else [record.pk]
    page: dict | Callable[[Any, dict, User], dict] | None = None
    relations: tuple = ("own", "teammate", "other team")
    effect: Callable[..., bool] | None = None  # (client, record, viewer): what an allowed POST must have done


def version(record) -> dict:
    return {"version": record.version}


def owner_besides(record, cast, viewer) -> int:
    """Someone in the viewer's view other than the deal's owner (for a rep there is no one)."""
    return next(user.pk for user in (viewer, cast["rep"], cast["manager"]) if user.pk != record.owner_id)


def file_upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("customers.csv", b"name\nMatrix import\n", content_type="text/csv")


def signed_out(client, record, viewer) -> bool:
    return client.get(reverse("funnel:home")).status_code == 302


def owner_in_view(viewer: str, relation: str):
    """A rep's form has no owner field: whatever owner is posted, the customer is the rep's own (S10)."""
    return OK if viewer == "rep" or sees(viewer, relation) else 200


def customer_kept_in_view(client, record, viewer) -> bool:
    created = Account.objects.get(name="Matrix new")
    return created.owner == (viewer if viewer.role == "rep" else record)


def quota_setters(viewer: str, relation: str):
    """Quotas: managers and admins for the people in their view, never their own (a cell that is not on their
    grid is not read: nothing to save, 302); a rep's role is refused."""
    if viewer == "rep":
        return 403
    return OK if relation != "own" and sees(viewer, relation) else 302


def quota_cell(record, cast, viewer) -> dict:
    start = quarter_of(timezone.localdate())[0].isoformat()
    return {f"q-{record.pk}-{start}": "1000", f"s-{record.pk}-{start}": ""}


def handover_givers(viewer: str, relation: str):
    """A handover: managers and admins hand over the books of the people in their view, never their own (404);
    a rep's role is refused."""
    if viewer == "rep":
        return 403
    return OK if relation != "own" and sees(viewer, relation) else 404


def book(cast, owner: User) -> User:
    """A person with a customer to hand over."""
    AccountFactory(owner=owner, name="Matrix customer")
    return owner


def received_handover(cast, owner: User) -> Handover:
    handover = Handover.objects.create(from_user=cast["admin"], by=cast["admin"])
    HandoverReceipt.objects.create(handover=handover, receiver=owner)
    return handover


def notification(cast, owner: User) -> Notification:
    return Notification.objects.create(user=owner, kind=NotificationKind.ALERT, key="matrix", url="/")


def unread_for_everyone(cast, owner) -> None:
    """An unread notification for each of the cast: marking all read has the viewer's to mark."""
    for person in cast.values():
        notification(cast, person)


def balancers(viewer: str, relation: str):
    """A load-balance move: managers within the teams they manage, admins within any team, from a rep to another
    active rep of the same team; a giver who is not a rep of a team in view is a 404; a rep's role is refused."""
    if viewer == "rep":
        return 403
    return OK if relation != "own" and sees(viewer, relation) else 404


def movable_customer(cast, owner: User) -> Account:
    """A customer of `owner`, and a second active rep of their team to receive it."""
    customer = AccountFactory(owner=owner, name="Matrix customer")
    customer.receiver = User.objects.create(username=f"receiver-{owner.pk}", role="rep", team=owner.team)
    return customer


def balance_move(record, cast, viewer) -> dict:
    return {"team": record.owner.team_id or "", "from": record.owner_id, "to": record.receiver.pk, "pick": record.pk}


def territory(cast, owner) -> Territory:
    return Territory.objects.create(name="Matrix place", team=cast["rep"].team)


SETTING = {"rule": admin_only, "relations": SINGLE}

WRITES: dict[str, Write] = {
    # Deals (S2, S3, S8): the detail page's actions, the board, the list's bulk action.
    "opportunities:create": Write(in_view(200), account, args=lambda r: [], page=lambda r, cast, viewer: {
        "name": "Matrix new", "account": r.pk, "stage": stage("Qualified").pk, "owner": viewer.pk, "amount": "1000"}),
    "opportunities:edit": Write(in_view(), deal, page={"name": "Matrix renamed"}),
    "opportunities:move": Write(in_view(), deal, lambda r, cast, viewer: {"stage": stage("Proposal").pk,
                                                                          **version(r)}),
    "opportunities:won": Write(in_view(), deal, lambda r, cast, viewer: {"note": "Signed", **version(r)}),
    "opportunities:lost": Write(in_view(), deal, lambda r, cast, viewer: {
        "reason": LostReason.objects.get_or_create(name="Price")[0].pk, **version(r)}),
    "opportunities:reopen": Write(in_view(), won_deal, lambda r, cast, viewer: {"stage": stage("Qualified").pk,
                                                                                **version(r)}),
    "opportunities:reassign": Write(reassigners, deal, lambda r, cast, viewer: {
        "owner": owner_besides(r, cast, viewer), **version(r)}),
    "opportunities:reschedule": Write(in_view(), deal, lambda r, cast, viewer: {
        "next_step_date": "2026-12-20", "reason": "Matrix reason", **version(r)}),
    "opportunities:board_move": Write(in_view(), deal, lambda r, cast, viewer: {"to_stage": stage("Proposal").pk,
                                                                                **version(r)}),
    # S7: a foreign id in the selection refuses the whole request (409, audited).
    "opportunities:bulk": Write(in_view(409), deal, lambda r, cast, viewer: {
        "action": "move", "stage": stage("Proposal").pk, "pick": f"{r.pk}:{r.version}"}, args=lambda r: []),
    "transfer:export_start": Write(anyone, relations=SINGLE),
    # Customers and contacts.
    "customers:create": Write(owner_in_view, person, args=lambda r: [], effect=customer_kept_in_view,
                              page=lambda r, cast, viewer: {"name": "Matrix new", "owner": r.pk}),
    "customers:edit": Write(in_view(), account, page={"name": "Matrix renamed"}),
    "customers:contact_create": Write(in_view(), account, page={"name": "Matrix person"}),
    "customers:contact_edit": Write(in_view(), contact, page={"title": "Matrix title"}),
    # Alerts: managers act on the alerts in their view.
    # Bulk: the role gate comes first (the ids are in the body): a rep 403 whatever the alert.
    "health:alert_bulk": Write(lambda viewer, relation: 403 if viewer == "rep" else managers_on_what_they_see(
        viewer, relation), alert, lambda r, cast, viewer: {
        "alert": [r.pk], "action": "acknowledge", "reason": "Seen"}, args=lambda r: []),
    "health:alert_acknowledge": Write(managers_on_what_they_see, alert, lambda r, cast, viewer: {"reason": "Seen"}),
    "health:alert_snooze": Write(managers_on_what_they_see, alert, lambda r, cast, viewer: {"days": 3,
                                                                                            "reason": "Later"}),
    # CSV import: an upload is its uploader's alone.
    "transfer:import_start": Write(anyone, post=lambda r, cast, viewer: {"kind": "customers", "file": file_upload()},
                                   relations=SINGLE),
    "transfer:import_confirm": Write(own_only, upload, lambda r, cast, viewer: {"mode": "valid"}),
    "transfer:import_cancel": Write(own_only, upload),
    "transfer:import_resume": Write(own_only, stalled_upload),
    # The funnel's settings (S11): admins only, a rep or manager gets 403.
    "configuration:pipeline_create": Write(**SETTING, post=lambda r, cast, viewer: {"name": "Matrix pipeline"}),
    "configuration:pipeline_detail": Write(**SETTING, record=lambda cast, owner: Pipeline.objects.get(),
                                           page={"name": "Matrix renamed"}),
    "configuration:pipeline_set_default": Write(**SETTING, record=second_pipeline),
    "configuration:pipeline_health": Write(**SETTING, record=lambda cast, owner: Pipeline.objects.get(),
                                           page={"inflow_weeks": "9"}),
    "configuration:stage_create": Write(**SETTING, record=lambda cast, owner: Pipeline.objects.get(),
                                        page={"name": "Matrix stage", "probability": "30"}),
    "configuration:stages_reorder": Write(**SETTING, record=lambda cast, owner: Pipeline.objects.get(),
                                          post=lambda r, cast, viewer: {"stage": [
                                              s.pk for s in r.stages.order_by("-order")]}),
    "configuration:stage_edit": Write(**SETTING, record=lambda cast, owner: stage("Proposal"),
                                      page={"probability": "45"}),
    "configuration:stage_move": Write(**SETTING, record=lambda cast, owner: stage("Proposal"),
                                      post=lambda r, cast, viewer: {"direction": "down"}),
    "configuration:stage_archive": Write(**SETTING, record=new_stage, page={}),
    "configuration:stage_unarchive": Write(**SETTING, record=archived_stage),
    "configuration:health_settings": Write(**SETTING, page={"working_days": ["0", "1", "2"]}),
    "configuration:source_list": Write(**SETTING, page={"name": "Matrix source"}),
    "configuration:source_edit": Write(**SETTING, record=lambda cast, owner: Source.objects.create(name="Fair"),
                                       page={"name": "Matrix source"}),
    "configuration:lost_reason_list": Write(**SETTING, page={"name": "Matrix reason"}),
    # Marketing: campaigns like sources, and the costs of sources and campaigns per month.
    "configuration:campaign_list": Write(**SETTING, page={"name": "Matrix campaign"}),
    "configuration:campaign_edit": Write(**SETTING, record=lambda cast, owner: Campaign.objects.create(name="Fair"),
                                         page={"name": "Matrix campaign"}),
    "configuration:cost_list": Write(**SETTING, record=lambda cast, owner: Source.objects.create(name="Fair"),
                                     args=lambda r: [], post=lambda r, cast, viewer: {
                                         "subject": f"source-{r.pk}", "month": "2026-11", "amount": "900"}),
    "configuration:cost_edit": Write(**SETTING, record=marketing_cost, page={"amount": "2000"}),
    "configuration:cost_delete": Write(**SETTING, record=marketing_cost),
    "configuration:territory_list": Write(**SETTING, page={"name": "Matrix territory"}),
    "configuration:territory_edit": Write(**SETTING, record=territory, page={"name": "Matrix renamed"}),
    "configuration:territory_people": Write(**SETTING, record=territory, post=lambda r, cast, viewer: {
        "action": "add", "person": cast["rep"].pk}),
    "configuration:lost_reason_edit": Write(**SETTING,
                                            record=lambda cast, owner: LostReason.objects.create(name="Price"),
                                            page={"name": "Matrix reason"}),
    "insights:target_list": Write(**SETTING, post=lambda r, cast, viewer: {
        "team": cast["rep"].team_id, "period_start": "2026-04-01", "period_end": "2026-06-30", "amount": "900"}),
    "insights:target_edit": Write(**SETTING, record=target, page={"amount": "2000"}),
    # Quotas: managers and admins set them for the people in their view.
    "planning:quota_grid": Write(quota_setters, person, quota_cell, args=lambda r: []),
    "insights:calibration_accept": Write(**SETTING, record=calibrated_stage, post=lambda r, cast, viewer: {
        "probability": "0", "configured": "40", "months": "12"}),
    "log:kinds": Write(**SETTING, page={"name": "Matrix kind"}),
    "log:kind_edit": Write(**SETTING, record=lambda cast, owner: visit(), page={"name": "Matrix kind"}),
    # The daily log: a rep's own day (S9); managers read and comment.
    "log:activity_new": Write(in_view(422), account, args=lambda r: [], page=lambda r, cast, viewer: {
        "kind": visit().pk, "account": r.pk, "outcome": "Matrix visit"}),
    "log:activity_edit": Write(own_only, activity, page={"outcome": "Matrix corrected"}),
    "log:plan_add": Write(own_only, daily_log, lambda r, cast, viewer: {
        "kind": visit().pk, "account": AccountFactory(owner=r.rep).pk, "goal": "Matrix goal"}),
    "log:plan_clear": Write(own_only, plan_item, lambda r, cast, viewer: {"action": "done"}),
    "log:plan_move": Write(own_only, planned_deal, lambda r, cast, viewer: {"stage": stage("Proposal").pk,
                                                                          **version(r.opportunity)}),
    "log:submit": Write(own_only, daily_log, lambda r, cast, viewer: {"summary": "Matrix day"}),
    "log:comment": Write(in_view(), daily_log, lambda r, cast, viewer: {"body": "Matrix comment"}),
    "log:reviewed": Write(reviewers, submitted_log),
    # Handover: a book moves to a rep of the giver's manager's teams; a receiver acknowledges their own.
    "log:handover_new": Write(handover_givers, book, lambda r, cast, viewer: {
        "from": r.pk, "all": cast["teammate"].pk}, args=lambda r: []),
    "log:handover_ack": Write(own_only, received_handover),
    # The bell: one's own notifications only (opening one marks it read).
    "notifications:open": Write(own_only, notification),
    "notifications:read_all": Write(anyone, unread_for_everyone, relations=SINGLE),
    # Load balance: a rep's customers to another rep of the same team, within the teams in view.
    "balance:move": Write(balancers, movable_customer, balance_move, args=lambda r: []),
    # The signed-in person's own settings.
    "reps:preferences": Write(anyone, page={"time_zone": "Europe/Berlin"}, relations=SINGLE),
    "log:calendar": Write(anyone, post=lambda r, cast, viewer: {"action": "make"}, relations=SINGLE),
    "log:reminders": Write(anyone, post=lambda r, cast, viewer: {"enabled": "on", "hour": "9"}, relations=SINGLE),
    "reps:password_change": Write(anyone, post=lambda r, cast, viewer: {
        "old_password": PASSWORD, "new_password1": "a new long passphrase", "new_password2": "a new long passphrase"},
        relations=SINGLE),
    "reps:set_language": Write(anyone, post=lambda r, cast, viewer: {"language": "zh-hans"}, relations=SINGLE),
    "reps:logout": Write(anyone, relations=SINGLE, effect=signed_out),
    # Two-step sign-in acts on the signed-in person alone; a wrong code changes nothing (the code page's own
    # tests post right ones): only admins are asked for it, and a rep or manager may set it up.
    "reps:second_factor": Write(wrong_code({"rep": 302, "manager": 302, "admin": 401}), relations=SINGLE,
                                post=lambda r, cast, viewer: {"code": "000000"}),
    "reps:second_factor_setup": Write(wrong_code({"rep": 422, "manager": 422, "admin": 302}), relations=SINGLE,
                                      page={"code": "000000"}),  # opening the page makes the pending app
    "reps:second_factor_disable": Write(wrong_code({"rep": 302, "manager": 302, "admin": 302}), relations=SINGLE,
                                        post=lambda r, cast, viewer: {"code": "000000"}),
}  # fmt: skip

# Routes that write nothing: a POST reads like a GET (or answers 405), changes nothing and is never an
# error page. Record routes are given one of the viewer's own records.
READS: dict[str, Callable[[dict, User], list]] = {
    "healthz": lambda cast, viewer: [],
    "readyz": lambda cast, viewer: [],
    "reps:login": lambda cast, viewer: [],
    "reps:team": lambda cast, viewer: [],
    "funnel:home": lambda cast, viewer: [],
    "opportunities:list": lambda cast, viewer: [],
    "opportunities:detail": lambda cast, viewer: [deal(cast, viewer).pk],
    "opportunities:board": lambda cast, viewer: [],
    "search:pick": lambda cast, viewer: ["person"],
    "log:calendar_feed": lambda cast, viewer: ["not-a-secret"],
    "search:results": lambda cast, viewer: [],
    "search:suggest": lambda cast, viewer: [],
    "insights:dashboard": lambda cast, viewer: [],
    "insights:dashboard_export": lambda cast, viewer: [],
    "insights:calibration": lambda cast, viewer: [],
    "planning:person_plan": lambda cast, viewer: [viewer.pk],  # reverse-funnel plans only read (405 on a POST)
    "planning:team_plan": lambda cast, viewer: [cast["rep"].team_id],
    "insights:marketing": lambda cast, viewer: [],
    "insights:marketing_export": lambda cast, viewer: [],
    "customers:list": lambda cast, viewer: [],
    "customers:detail": lambda cast, viewer: [account(cast, viewer).pk],
    "health:alert_list": lambda cast, viewer: [],
    "configuration:index": lambda cast, viewer: [],
    "transfer:import_template": lambda cast, viewer: ["customers"],
    "transfer:import_preview": lambda cast, viewer: [upload(cast, viewer).pk],
    "transfer:import_progress": lambda cast, viewer: [upload(cast, viewer).pk],
    "transfer:import_errors": lambda cast, viewer: [upload(cast, viewer).pk],
    "transfer:export_job": lambda cast, viewer: [export_of(cast, viewer).pk],
    "transfer:export_job_progress": lambda cast, viewer: [export_of(cast, viewer).pk],
    "transfer:export_download": lambda cast, viewer: [export_of(cast, viewer).pk],
    "log:today": lambda cast, viewer: [],
    "log:day": lambda cast, viewer: [date.today().isoformat()],
    "log:detail": lambda cast, viewer: [daily_log(cast, viewer).pk],
    "log:review": lambda cast, viewer: [],
    "log:quality": lambda cast, viewer: [],
    "log:quality_rep": lambda cast, viewer: [viewer.pk],
    "log:activity_move": lambda cast, viewer: [],
    "log:card": lambda cast, viewer: [account(cast, viewer).pk],
    "log:handover_list": lambda cast, viewer: [],
    "log:handover_orphans": lambda cast, viewer: [],
    "balance:page": lambda cast, viewer: [],
    "balance:preview": lambda cast, viewer: [],
    "log:handover_detail": lambda cast, viewer: [Handover.objects.create(from_user=viewer, by=viewer).pk],
    "notifications:list": lambda cast, viewer: [],
    "offline:service_worker": lambda cast, viewer: [],
    "offline:manifest": lambda cast, viewer: [],
    "offline:state": lambda cast, viewer: [],
    "offline:book": lambda cast, viewer: [],
}
PUBLIC = {"healthz", "readyz", "reps:login", "reps:logout", "reps:set_language"}  # no sign-in needed
PUBLIC |= {"log:calendar_feed"}  # a calendar app reads it with the secret in its address, not a session
# The offline shell's files are the same for everyone; its state answers "signed out" (activity_log.offline).
PUBLIC |= {"offline:service_worker", "offline:manifest", "offline:state"}


# --- what the database holds ---------------------------------------------------------------------------------

WORLD = [User, Team, Territory, Pipeline, Stage, Source, LostReason, Account, Contact, Opportunity, StageChange,
         ImportBatch, ExportJob, Alert, HealthSettings, Target, ActivityKind, DailyLog, PlanItem, Activity, Amendment,
         Comment, OutboxReceipt, TOTPDevice, StaticDevice, StaticToken]  # fmt: skip
WORLD += [Quota, Handover, HandoverItem, HandoverReceipt]  # managing by the funnel (issue 14)

WORLD += [CalendarFeed, ReminderSetting, ReminderSent]  # calendar addresses, morning e-mails (issue 18)
WORLD += [Notification]  # the bell (issue 18): a refused write notifies no one
WORLD += [Campaign, MarketingCost]  # marketing judged by the funnel (issue 15)


def world() -> dict:
    """Every row of every record the app keeps (not the audit trail, which records refusals, nor the
    dashboard's derived tables); `last_login` is left out, a sign-in is not a write to the person."""
    rows = {model.__name__: list(model.objects.order_by("pk").values()) for model in WORLD}
    for row in rows["User"]:
        row.pop("last_login")
    for row in rows["TOTPDevice"]:  # a refused code's throttling count: bookkeeping, not a change of factor
        for bookkeeping in ("throttling_failure_timestamp", "throttling_failure_count", "last_used_at"):
            row.pop(bookkeeping, None)
    return rows


def changed_tables(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after[name]]


# --- the tests -------------------------------------------------------------------------------------------------


def test_every_route_has_a_write_entry():
    assert set(WRITES).isdisjoint(READS)
    assert route_names() == set(WRITES) | set(READS)


def write_cases():
    for name, write in WRITES.items():
        for viewer in VIEWERS:
            for relation in write.relations:
                yield pytest.param(name, viewer, relation, id=f"{name}-{viewer}-{relation}")


def payload(write: Write, record, cast, viewer: User, owner: User | None, url: str, client, client_for) -> dict:
    if write.page is None:
        return write.post(record, cast, viewer)
    changes = write.page(record, cast, viewer) if callable(write.page) else write.page
    page = client.get(url)
    if page.status_code != 200:
        page = client_for(cast["admin"] if owner is None else owner).get(url)
    if page.status_code != 200:  # a page that sends everyone on (an admin's set-up of a factor they have)
        return changes
    return {**form_data(page), **changes}


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "viewer", "relation"), list(write_cases()))
def test_write(name, viewer, relation, cast, pipeline, client_for):
    write = WRITES[name]
    owner = cast[OWNER[viewer][relation]] if relation in OWNER[viewer] else None
    record = write.record(cast, owner)
    url = reverse(name, args=write.args(record))
    client = client_for(cast[viewer])
    data = payload(write, record, cast, cast[viewer], owner, url, client, client_for)
    before = world()
    response = client.post(url, data)
    after = world()
    expected = write.rule(viewer, relation)
    if expected == OK:
        assert response.status_code in (200, 302), f"{name}: answered {response.status_code}"
        done = write.effect(client, record, cast[viewer]) if write.effect else bool(changed_tables(before, after))
        assert done, f"{name}: said {response.status_code} but nothing changed"
    else:
        assert response.status_code == expected
        assert changed_tables(before, after) == []


def read_cases():
    for name in READS:
        for viewer in VIEWERS:
            yield pytest.param(name, viewer, id=f"{name}-{viewer}")


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "viewer"), list(read_cases()))
def test_a_post_to_a_page_that_only_reads_changes_nothing(name, viewer, cast, pipeline, client_for):
    url = reverse(name, args=READS[name](cast, cast[viewer]))
    client = client_for(cast[viewer])
    client.get(url)  # what opening the page creates (today's log) is not the POST's doing
    before = world()
    response = client.post(url, {"name": "Matrix", "owner": cast["other_rep"].pk})
    assert response.status_code < 500
    assert changed_tables(before, world()) == []


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(set(WRITES) | set(READS)))
def test_an_anonymous_post_changes_nothing(name, cast, pipeline, client):
    write = WRITES.get(name)
    if write is not None:
        record = write.record(cast, cast["rep"])
        args = write.args(record)
    else:
        args = READS[name](cast, cast["rep"])
    before = world()
    response = client.post(reverse(name, args=args), {"name": "Matrix", "owner": cast["rep"].pk})
    assert response.status_code < 500
    assert changed_tables(before, world()) == []
    if name not in PUBLIC:
        assert response.status_code == 302 and response.url.startswith(reverse("reps:login"))
