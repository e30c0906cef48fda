"""The authorization matrix (QUALITY G-A2): every route × every role, and every object route × owner.

A new route fails `test_every_route_is_in_the_matrix` until it is given its expectations here.
"""

from datetime import date

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from funnel.models import ImportBatch, LostReason, Pipeline, Source, Stage
from tests.factories import AccountFactory, ContactFactory, OpportunityFactory

ROLES = ["anonymous", "rep", "manager", "admin"]
SIGN_IN = 302  # anonymous users are sent to the sign-in page
# Funnel settings (QUALITY S11): the role is checked before the method, so a rep or manager gets 403
# even on a POST-only route, where an admin's GET gets 405.
ADMIN_PAGE = {"anonymous": SIGN_IN, "rep": 403, "manager": 403, "admin": 200}
ADMIN_POST = {"anonymous": SIGN_IN, "rep": 403, "manager": 403, "admin": 405}

# route name → expected GET status per role (routes without an object id)
PAGES = {
    "healthz": {"anonymous": 200, "rep": 200, "manager": 200, "admin": 200},
    "readyz": {"anonymous": 200, "rep": 200, "manager": 200, "admin": 200},
    "reps:login": {"anonymous": 200, "rep": 200, "manager": 200, "admin": 200},
    "reps:logout": {"anonymous": 405, "rep": 405, "manager": 405, "admin": 405},  # POST only
    "reps:set_language": {"anonymous": 405, "rep": 405, "manager": 405, "admin": 405},  # POST only
    "reps:password_change": {"anonymous": SIGN_IN, "rep": 200, "manager": 200, "admin": 200},
    "reps:preferences": {"anonymous": SIGN_IN, "rep": 200, "manager": 200, "admin": 200},
    "reps:team": {"anonymous": SIGN_IN, "rep": 403, "manager": 200, "admin": 200},
    # The second factor: nothing to give without an app (sent on); the test admin has one, given already.
    "reps:second_factor": {"anonymous": SIGN_IN, "rep": 302, "manager": 302, "admin": 200},
    "reps:second_factor_setup": {"anonymous": SIGN_IN, "rep": 200, "manager": 200, "admin": 302},
    "reps:second_factor_disable": {"anonymous": SIGN_IN, "rep": 405, "manager": 405, "admin": 405},  # POST only
    "funnel:home": {"anonymous": SIGN_IN, "rep": 200, "manager": 200, "admin": 200},
    "customers:list": {"anonymous": SIGN_IN, "rep": 200, "manager": 200, "admin": 200},
    "customers:create": {"anonymous": SIGN_IN, "rep": 200, "manager": 200, "admin": 200},
    "opportunities:list": {"anonymous": SIGN_IN, "rep": 200, "manager": 200, "admin": 200},
    "opportunities:create": {"anonymous": SIGN_IN, "rep": 200, "manager": 200, "admin": 200},
    "opportunities:bulk": {"anonymous": SIGN_IN, "rep": 405, "manager": 405, "admin": 405},  # POST only
    "transfer:export_start": {"anonymous": SIGN_IN, "rep": 200, "manager": 200, "admin": 200},
    "opportunities:board": {"anonymous": SIGN_IN, "rep": 200, "manager": 200, "admin": 200},
    # Everyone has a dashboard: its figures are limited to what the user may see.
    "insights:dashboard": {"anonymous": SIGN_IN, "rep": 200, "manager": 200, "admin": 200},
    "insights:dashboard_export": {"anonymous": SIGN_IN, "rep": 200, "manager": 200, "admin": 200},
    "insights:target_list": ADMIN_PAGE,
    # Quotas: managers for their teams' people, admins for everyone (tests/funnel/test_quotas.py).
    "planning:quota_grid": {"anonymous": SIGN_IN, "rep": 403, "manager": 200, "admin": 200},
    # Handover: managers and admins start one (tests/activity_log/test_handover.py); without ?from= the new
    # handover's page sends them to the list, where one is started.
    "log:handover_list": {"anonymous": SIGN_IN, "rep": 403, "manager": 200, "admin": 200},
    "log:handover_new": {"anonymous": SIGN_IN, "rep": 403, "manager": 302, "admin": 302},
    "log:handover_orphans": {"anonymous": SIGN_IN, "rep": 403, "manager": 200, "admin": 200},
    # Load balance: managers for their teams, admins for any (tests/funnel/test_load_balance.py); the preview
    # without a rep and customers sends them to the page; the move is POST only.
    "balance:page": {"anonymous": SIGN_IN, "rep": 403, "manager": 200, "admin": 200},
    "balance:preview": {"anonymous": SIGN_IN, "rep": 403, "manager": 302, "admin": 302},
    "balance:move": {"anonymous": SIGN_IN, "rep": 403, "manager": 405, "admin": 405},
    # Territories: admins only, like every funnel setting (tests/funnel/test_territories.py).
    "configuration:territory_list": ADMIN_PAGE,
    # Probabilities against history: everyone, over the deals they may see (tests/funnel/test_calibration_pages.py).
    "insights:calibration": {"anonymous": SIGN_IN, "rep": 200, "manager": 200, "admin": 200},
    # The marketing page and its CSV: everyone, over the deals they may see (tests/funnel/test_marketing_page.py).
    "insights:marketing": {"anonymous": SIGN_IN, "rep": 200, "manager": 200, "admin": 200},
    "insights:marketing_export": {"anonymous": SIGN_IN, "rep": 200, "manager": 200, "admin": 200},
    "configuration:campaign_list": ADMIN_PAGE,
    "configuration:cost_list": ADMIN_PAGE,
    "configuration:index": ADMIN_PAGE,
    "configuration:health_settings": ADMIN_PAGE,
    "configuration:pipeline_create": ADMIN_POST,
    "configuration:source_list": ADMIN_PAGE,
    "configuration:lost_reason_list": ADMIN_PAGE,
    "transfer:import_start": {"anonymous": SIGN_IN, "rep": 200, "manager": 200, "admin": 200},
    "health:alert_list": {"anonymous": SIGN_IN, "rep": 200, "manager": 200, "admin": 200},
    # Bulk acknowledge or snooze: managers and admins, POST only (tests/funnel/test_alert_bulk.py).
    "health:alert_bulk": {"anonymous": SIGN_IN, "rep": 403, "manager": 405, "admin": 405},
    "log:today": {"anonymous": SIGN_IN, "rep": 200, "manager": 200, "admin": 200},
    "log:activity_new": {"anonymous": SIGN_IN, "rep": 200, "manager": 200, "admin": 200},
    "log:activity_move": {"anonymous": SIGN_IN, "rep": 200, "manager": 200, "admin": 200},
    "log:review": {"anonymous": SIGN_IN, "rep": 403, "manager": 200, "admin": 200},
    # Data quality per rep (tests/activity_log/test_quality_pages.py): a rep is sent to their own page.
    "log:quality": {"anonymous": SIGN_IN, "rep": 302, "manager": 200, "admin": 200},
    "log:kinds": ADMIN_PAGE,
    # The offline shell (activity_log.offline): the worker and the manifest are the same file for everyone; the
    # outbox's state answers 403 to no one signed in (it has nothing to send), the book is the user's own.
    "offline:service_worker": {"anonymous": 200, "rep": 200, "manager": 200, "admin": 200},
    "offline:manifest": {"anonymous": 200, "rep": 200, "manager": 200, "admin": 200},
    "offline:state": {"anonymous": 403, "rep": 200, "manager": 200, "admin": 200},
    "offline:book": {"anonymous": SIGN_IN, "rep": 200, "manager": 200, "admin": 200},
    "log:calendar": {"anonymous": SIGN_IN, "rep": 200, "manager": 200, "admin": 200},
    "log:reminders": {"anonymous": SIGN_IN, "rep": 405, "manager": 405, "admin": 405},  # POST only
    # The bell: everyone's own notifications (tests/activity_log/test_notifications.py); marking all read is POST only.
    "notifications:list": {"anonymous": SIGN_IN, "rep": 200, "manager": 200, "admin": 200},
    "notifications:read_all": {"anonymous": SIGN_IN, "rep": 405, "manager": 405, "admin": 405},
    # The global search: everyone searches what they may see (tests/funnel/test_global_search.py).
    "search:results": {"anonymous": SIGN_IN, "rep": 200, "manager": 200, "admin": 200},
    "search:suggest": {"anonymous": SIGN_IN, "rep": 200, "manager": 200, "admin": 200},
}


def opportunity_of(cast, owner: str) -> list:
    """URL args for an opportunity owned by `owner` of the cast."""
    return [OpportunityFactory(owner=cast[owner], name="Matrix deal").pk]


def account_of(cast, owner: str) -> list:
    """URL args for a customer owned by `owner` of the cast."""
    return [AccountFactory(owner=cast[owner], name="Matrix deal").pk]


def contact_of(cast, owner: str) -> list:
    """URL args for a contact of a customer owned by `owner` of the cast."""
    return [ContactFactory(account__owner=cast[owner], account__name="Matrix deal", name="Matrix deal").pk]


def calendar_of(cast, owner: str | None) -> list:
    """The secret of `owner`'s calendar address; None: a secret no one has."""
    from activity_log.calendar.services import calendar_feed_issue

    return [calendar_feed_issue(user=cast[owner], include_names=False) if owner else "not-a-secret"]


# Customers and their contacts follow the owner of the customer.
ACCOUNT_ACCESS = {
    ("rep", "rep"): 200,
    ("rep", "teammate"): 404,
    ("rep", "manager"): 404,
    ("rep", "other_rep"): 404,
    ("manager", "rep"): 200,
    ("manager", "manager"): 200,
    ("manager", "other_rep"): 404,
    ("manager", "other_manager"): 404,
    ("admin", "rep"): 200,
    ("admin", "other_rep"): 200,
    ("anonymous", "rep"): SIGN_IN,
}


# Who may open whose opportunity (the visibility rule, written out by hand).
OPPORTUNITY_ACCESS = {
    ("rep", "rep"): 200,
    ("rep", "teammate"): 404,
    ("rep", "manager"): 404,
    ("rep", "other_rep"): 404,
    ("manager", "rep"): 200,
    ("manager", "manager"): 200,
    ("manager", "other_rep"): 404,
    ("manager", "other_manager"): 404,
    ("admin", "rep"): 200,
    ("admin", "other_rep"): 200,
    ("anonymous", "rep"): SIGN_IN,
}
# POST-only actions: GET is refused before anything is looked up (the POST matrix is in
# tests/funnel/test_opportunity_actions.py).
POST_ONLY = {pair: (SIGN_IN if pair[0] == "anonymous" else 405) for pair in OPPORTUNITY_ACCESS}


def alert_of(cast, owner: str) -> list:
    """URL args for an open alert about a deal of `owner` of the cast."""
    from funnel.models import Alert, AlertKind

    opportunity = OpportunityFactory(owner=cast[owner], name="Matrix deal")
    return [Alert.objects.create(kind=AlertKind.STALLED, key=f"stalled:opp:{opportunity.pk}", rep=cast[owner],
                                 opportunity=opportunity).pk]  # fmt: skip


def pipeline_of(cast, owner: None) -> list:
    return [Pipeline.objects.get(is_default=True).pk]


def stage_of(cast, owner: None) -> list:
    return [Stage.objects.get(pipeline__is_default=True, name="Proposal").pk]


def source_of(cast, owner: None) -> list:
    return [Source.objects.get_or_create(name="Matrix source")[0].pk]


def campaign_of(cast, owner: None) -> list:
    from funnel.models import Campaign

    return [Campaign.objects.create(name="Matrix campaign").pk]


def cost_of(cast, owner: None) -> list:
    from funnel.models import MarketingCost

    source = Source.objects.get_or_create(name="Matrix cost source")[0]
    month = {"source": source, "period_start": date(2026, 11, 1), "period_end": date(2026, 11, 30)}
    return [MarketingCost.objects.get_or_create(**month, defaults={"amount": 1000, "updated_by": cast["admin"]})[0].pk]


def target_of(cast, owner: None) -> list:
    from funnel.models import Target

    team = cast["rep"].team
    return [Target.objects.create(team=team, period_start=date(2026, 1, 1), period_end=date(2026, 3, 31),
                                  amount=1000, created_by=cast["admin"]).pk]  # fmt: skip


def plan_person_of(cast, owner: str) -> list:
    """URL args of the reverse-funnel plan of `owner` of the cast."""
    return [cast[owner].pk]


def team_of(cast, owner: str) -> list:
    """URL args naming the team of `owner` of the cast."""
    return [cast[owner].team_id]


# A team's reverse-funnel plan: its manager's and the admins' (tests/funnel/test_planning_pages.py); a rep is refused
# by role before any team is looked up.
TEAM_PLAN_ACCESS = {
    ("rep", "rep"): 403,
    ("manager", "rep"): 200,
    ("manager", "other_rep"): 404,
    ("admin", "rep"): 200,
    ("admin", "other_rep"): 200,
    ("anonymous", "rep"): SIGN_IN,
}


def handover_of(cast, owner: str) -> list:
    """URL args for a handover of `owner`'s book (the record alone: nothing moved, nobody received)."""
    from reps.models import Handover

    return [Handover.objects.create(from_user=cast[owner], by=cast["admin"], note="Matrix deal").pk]


def notification_of(cast, owner: str) -> list:
    """URL args for a notification of `owner` of the cast."""
    from activity_log.models import Notification, NotificationKind

    return [Notification.objects.create(user=cast[owner], kind=NotificationKind.ALERT, key="matrix").pk]


def territory_of(cast, owner: None) -> list:
    from reps.models import Territory

    return [Territory.objects.get_or_create(name="Matrix territory", defaults={"team": cast["rep"].team})[0].pk]


def lost_reason_of(cast, owner: None) -> list:
    return [LostReason.objects.create(name="Matrix reason").pk]


def import_batch_of(cast, owner: str) -> list:
    """URL args for an uploaded CSV batch of `owner` of the cast."""
    return [ImportBatch.objects.create(created_by=cast[owner], kind="customers", text="name\nMatrix deal\n").pk]


def import_kind(cast, owner: None) -> list:
    return ["customers"]


# An uploaded batch is private to its uploader: admins included, everyone else gets 404.
IMPORT_BATCH_ACCESS = {
    ("rep", "rep"): 200,
    ("teammate", "rep"): 404,
    ("manager", "rep"): 404,
    ("admin", "rep"): 404,
    ("anonymous", "rep"): SIGN_IN,
}
IMPORT_BATCH_POST_ONLY = {pair: (SIGN_IN if pair[0] == "anonymous" else 405) for pair in IMPORT_BATCH_ACCESS}
# The progress of a batch that is not importing sends its uploader on to the batch's page.
IMPORT_PROGRESS_ACCESS = {**IMPORT_BATCH_ACCESS, ("rep", "rep"): 302}


def export_job_of(cast, owner: str) -> list:
    """URL args for a finished export of `owner` of the cast (its file: one chunk)."""
    from django.utils import timezone

    from funnel.models import ExportChunk, ExportJob

    job = ExportJob.objects.create(created_by=cast[owner], status="ready", size=5, finished_at=timezone.now())
    ExportChunk.objects.create(job=job, attempt=0, index=0, data=b"ID\r\n")
    return [job.pk]


# An export is private to the person who started it: admins included, everyone else gets 404; the progress
# of a finished export sends its creator on to the export's page.
EXPORT_JOB_ACCESS = IMPORT_BATCH_ACCESS
EXPORT_PROGRESS_ACCESS = IMPORT_PROGRESS_ACCESS


def today_of(cast, owner: None) -> list:
    """The URL args of "my own day": every signed-in user has one."""
    return [date.today().isoformat()]


def daily_log_of(cast, owner: str) -> list:
    from activity_log.services import daily_log_get, local_today

    return [daily_log_get(rep=cast[owner], day=local_today(cast[owner])).pk]


def plan_item_of(cast, owner: str) -> list:
    from activity_log.models import ActivityKind, PlanItem
    from tests.factories import AccountFactory

    log_pk = daily_log_of(cast, owner)[0]
    account = AccountFactory(owner=cast[owner])
    return [PlanItem.objects.create(daily_log_id=log_pk, kind=ActivityKind.objects.first(), account=account).pk]


def activity_of(cast, owner: str) -> list:
    from django.utils import timezone

    from activity_log.models import ActivityKind
    from activity_log.services import activity_record
    from tests.factories import AccountFactory

    data = {"kind": ActivityKind.objects.first(), "account": AccountFactory(owner=cast[owner]),
            "when": timezone.now(), "outcome": "Matrix visit"}  # fmt: skip
    return [activity_record(rep=cast[owner], data=data).pk]


def person_of(cast, owner: str) -> list:
    """URL args naming a person of the cast."""
    return [cast[owner].pk]


def picker_source(cast, owner: None) -> list:
    return ["customer"]


def activity_kind_of(cast, owner: None) -> list:
    from activity_log.models import ActivityKind

    return [ActivityKind.objects.get(name="Visit").pk]


# A log is read by its rep (who is sent on to their day page), their manager and admins.
DAILY_LOG_ACCESS = {**OPPORTUNITY_ACCESS, ("rep", "rep"): 302, ("manager", "manager"): 302}
# Only the rep corrects their own activities; their manager reads but does not edit.
OWN_ONLY = {pair: (status if pair[0] in (pair[1], "anonymous") else 404) for pair, status in OPPORTUNITY_ACCESS.items()}


def admin_only(statuses: dict) -> dict:
    """A settings record nobody owns: the expectations of ADMIN_PAGE or ADMIN_POST, per viewer."""
    return {(role, None): status for role, status in statuses.items()}


# route name → (URL args maker, expected GET status per (viewer, owner of the object)).
# For records nobody owns (pipelines, stages), use owner None and a maker that ignores it.
OBJECT_PAGES = {
    "customers:detail": (account_of, ACCOUNT_ACCESS),
    "customers:edit": (account_of, ACCOUNT_ACCESS),
    "customers:contact_create": (account_of, ACCOUNT_ACCESS),
    "customers:contact_edit": (contact_of, ACCOUNT_ACCESS),
    "opportunities:detail": (opportunity_of, OPPORTUNITY_ACCESS),
    "opportunities:edit": (opportunity_of, OPPORTUNITY_ACCESS),
    "opportunities:move": (opportunity_of, POST_ONLY),
    "opportunities:won": (opportunity_of, POST_ONLY),
    "opportunities:lost": (opportunity_of, POST_ONLY),
    "opportunities:reopen": (opportunity_of, POST_ONLY),
    "opportunities:reassign": (opportunity_of, POST_ONLY),
    "opportunities:reschedule": (opportunity_of, POST_ONLY),
    "opportunities:board_move": (opportunity_of, POST_ONLY),
    "configuration:pipeline_detail": (pipeline_of, admin_only(ADMIN_PAGE)),
    "configuration:pipeline_set_default": (pipeline_of, admin_only(ADMIN_POST)),
    "configuration:pipeline_health": (pipeline_of, admin_only(ADMIN_PAGE)),
    "configuration:stage_create": (pipeline_of, admin_only(ADMIN_PAGE)),
    "configuration:stages_reorder": (pipeline_of, admin_only(ADMIN_POST)),
    "configuration:stage_edit": (stage_of, admin_only(ADMIN_PAGE)),
    "configuration:stage_move": (stage_of, admin_only(ADMIN_POST)),
    "configuration:stage_archive": (stage_of, admin_only(ADMIN_PAGE)),
    "configuration:stage_unarchive": (stage_of, admin_only(ADMIN_POST)),
    "configuration:source_edit": (source_of, admin_only(ADMIN_PAGE)),
    "configuration:lost_reason_edit": (lost_reason_of, admin_only(ADMIN_PAGE)),
    "configuration:campaign_edit": (campaign_of, admin_only(ADMIN_PAGE)),
    "configuration:cost_edit": (cost_of, admin_only(ADMIN_PAGE)),
    "configuration:cost_delete": (cost_of, admin_only(ADMIN_POST)),
    "configuration:territory_edit": (territory_of, admin_only(ADMIN_PAGE)),
    "configuration:territory_people": (territory_of, admin_only(ADMIN_POST)),
    "insights:target_edit": (target_of, admin_only(ADMIN_PAGE)),
    "insights:calibration_accept": (stage_of, admin_only(ADMIN_POST)),
    # Reverse-funnel plans: a person's follows the visibility of the person (tests/funnel/test_planning_pages.py).
    "planning:person_plan": (plan_person_of, OPPORTUNITY_ACCESS),
    "planning:team_plan": (team_of, TEAM_PLAN_ACCESS),
    "transfer:import_template": (import_kind, {(role, None): PAGES["transfer:import_start"][role] for role in ROLES}),
    "transfer:import_preview": (import_batch_of, IMPORT_BATCH_ACCESS),
    "transfer:import_errors": (import_batch_of, IMPORT_BATCH_ACCESS),
    "transfer:import_confirm": (import_batch_of, IMPORT_BATCH_POST_ONLY),
    "transfer:import_cancel": (import_batch_of, IMPORT_BATCH_POST_ONLY),
    "transfer:import_progress": (import_batch_of, IMPORT_PROGRESS_ACCESS),
    "transfer:import_resume": (import_batch_of, IMPORT_BATCH_POST_ONLY),
    "transfer:export_job": (export_job_of, EXPORT_JOB_ACCESS),
    "transfer:export_job_progress": (export_job_of, EXPORT_PROGRESS_ACCESS),
    "transfer:export_download": (export_job_of, EXPORT_JOB_ACCESS),
    "health:alert_acknowledge": (alert_of, POST_ONLY),  # the POST matrix is in tests/funnel/test_alerts.py
    "health:alert_snooze": (alert_of, POST_ONLY),
    "log:day": (today_of, {(role, None): PAGES["log:today"][role] for role in ROLES}),
    "log:detail": (daily_log_of, DAILY_LOG_ACCESS),
    "log:plan_add": (daily_log_of, POST_ONLY),
    "log:submit": (daily_log_of, POST_ONLY),
    "log:plan_clear": (plan_item_of, POST_ONLY),
    "log:plan_move": (plan_item_of, POST_ONLY),
    "log:activity_edit": (activity_of, OWN_ONLY),
    "log:comment": (daily_log_of, POST_ONLY),
    "log:reviewed": (daily_log_of, POST_ONLY),
    "log:card": (account_of, ACCOUNT_ACCESS),
    # A rep's data-quality page follows the visibility of the person (tests/activity_log/test_quality_pages.py).
    "log:quality_rep": (person_of, OPPORTUNITY_ACCESS),
    "log:kind_edit": (activity_kind_of, admin_only(ADMIN_PAGE)),
    # A handover follows the person whose book it was (and its receivers: tests/activity_log/test_handover.py).
    "log:handover_detail": (handover_of, OPPORTUNITY_ACCESS),
    "log:handover_ack": (handover_of, POST_ONLY),
    # Opening a notification is a POST, and only one's own (tests/activity_log/test_notifications.py).
    "notifications:open": (notification_of, POST_ONLY),
    # The pickers' one endpoint: everyone searches what they may see (tests/funnel/test_pickers.py).
    "search:pick": (picker_source, {(role, None): PAGES["funnel:home"][role] for role in ROLES}),
    # A calendar app reads the address without signing in: the secret in it is the permission, whoever asks
    # (tests/activity_log/test_calendar_feed.py); a secret no one has is a 404.
    "log:calendar_feed": (
        calendar_of,
        {(role, owner): 404 if owner is None else 200 for role in ROLES for owner in ("rep", "other_rep", None)},
    ),
}


def route_names(resolver: URLResolver | None = None, namespace: str = "") -> set[str]:
    names = set()
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue  # Django admin: covered by tests/reps/test_admin_and_team.py
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= route_names(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(f"{namespace}{pattern.name}")
    return names


def test_every_route_is_in_the_matrix():
    assert route_names() == set(PAGES) | set(OBJECT_PAGES)


def client_as(role: str, cast, client_for, client):
    return client if role == "anonymous" else client_for(cast[role])


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "role"), [(name, role) for name in PAGES for role in ROLES])
def test_page_access(name, role, cast, pipeline, client_for, client):
    response = client_as(role, cast, client_for, client).get(reverse(name))
    assert response.status_code == PAGES[name][role]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "viewer", "owner"), [(name, *pair) for name, (_, table) in OBJECT_PAGES.items() for pair in table]
)
def test_object_page_access(name, viewer, owner, cast, pipeline, client_for, client):
    make_args, table = OBJECT_PAGES[name]
    response = client_as(viewer, cast, client_for, client).get(reverse(name, args=make_args(cast, owner)))
    assert response.status_code == table[(viewer, owner)]
    if response.status_code == 404:
        assert b"Matrix deal" not in response.content
