"""Every edit page stores what it says it stored: each test opens the page, posts its form back (as a
browser would) with one value changed, then reads the row from the database and the audit row or
amendment holding old → new. A service that compared the new values with an instance the bound form
had already changed would see no change, store nothing and still say "saved" (issue 10 item 1)."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from activity_log import services as log_services
from activity_log.models import Activity, ActivityKind, Amendment
from funnel.models import Contact, LostReason, Opportunity, Pipeline, Source, Stage, Target
from reps.models import AuditAction, AuditEvent
from tests.factories import ContactFactory, OpportunityFactory
from tests.html_forms import form_data

pytestmark = pytest.mark.django_db
NOON_IN_SHANGHAI = datetime(2026, 3, 4, 4, 0, tzinfo=UTC)


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def edit(client, url: str, **changes):
    """GETs the edit page, posts its form back with `changes`, and returns the response."""
    page = client.get(url)
    assert page.status_code == 200
    return client.post(url, {**form_data(page), **changes})


def audited(action: str, obj) -> list[dict]:
    rows = AuditEvent.objects.filter(action=action, object_type=obj._meta.label_lower, object_id=str(obj.pk))
    return [row.detail for row in rows.order_by("pk")]


# --- the daily log: corrections of a recorded activity ------------------------------------------------


@pytest.fixture
def visit_record(rep, pipeline):
    """A visit R1 recorded at 11:00 on an open day (Shanghai); the clock stands at noon."""
    deal = OpportunityFactory(owner=rep)
    with time_machine.travel(NOON_IN_SHANGHAI, tick=False):
        activity = log_services.activity_record(
            rep=rep,
            data={"kind": ActivityKind.objects.get(name="Visit"), "account": deal.account, "opportunity": deal,
                  "when": datetime(2026, 3, 4, 3, 0, tzinfo=UTC), "outcome": "Met the buyer"},
        )  # fmt: skip
        yield activity


def correct(client, activity, **changes):
    return edit(client, reverse("log:activity_edit", args=[activity.pk]), **changes)


def test_a_correction_on_an_open_day_changes_the_activity(client_for, rep, visit_record):
    response = correct(client_for(rep), visit_record, outcome="Met the CFO", place="Ningbo")
    assert response.status_code == 302
    stored = Activity.objects.get(pk=visit_record.pk)
    assert (stored.outcome, stored.place) == ("Met the CFO", "Ningbo")
    assert stored.when == visit_record.when  # the time shown and posted back is the same instant
    assert not Amendment.objects.exists()  # an open day is simply corrected
    assert said(response) == ["Correction saved."]


def test_a_correction_on_a_submitted_day_writes_an_amendment_with_old_and_new(client_for, rep, visit_record):
    log_services.daily_log_submit(log=visit_record.daily_log, by=rep, summary="One visit")
    response = correct(client_for(rep), visit_record, outcome="Met the CFO", amend_reason="Wrong person")
    assert response.status_code == 302
    assert Activity.objects.get(pk=visit_record.pk).outcome == "Met the CFO"
    amendment = Amendment.objects.get(activity=visit_record)
    assert (amendment.reason, amendment.by) == ("Wrong person", rep)
    assert amendment.changes == {"outcome": ["Met the buyer", "Met the CFO"]}
    assert said(response) == ["Correction recorded as an amendment to the submitted day."]


def test_a_correction_that_changes_nothing_says_so_and_writes_nothing(client_for, rep, visit_record):
    log_services.daily_log_submit(log=visit_record.daily_log, by=rep, summary="One visit")
    response = correct(client_for(rep), visit_record, amend_reason="Just checking")
    assert response.status_code == 302
    assert not Amendment.objects.exists()
    assert said(response) == ["Nothing to correct: the values are the ones already recorded."]


def test_a_correction_of_a_submitted_day_without_a_reason_changes_nothing(client_for, rep, visit_record):
    log_services.daily_log_submit(log=visit_record.daily_log, by=rep, summary="One visit")
    response = correct(client_for(rep), visit_record, outcome="Met the CFO")
    assert response.status_code == 422
    assert "say why you correct it" in response.content.decode()
    assert Activity.objects.get(pk=visit_record.pk).outcome == "Met the buyer"
    assert not Amendment.objects.exists()


# --- the funnel: deals, customers, contacts ---------------------------------------------------------------


def test_editing_a_deal_stores_it_and_keeps_the_amount_history(client_for, rep, pipeline):
    deal = OpportunityFactory(owner=rep, amount=Decimal("100000.00"))
    response = edit(client_for(rep), reverse("opportunities:edit", args=[deal.pk]), amount="250000", name="Robots")
    assert response.status_code == 302
    stored = Opportunity.objects.get(pk=deal.pk)
    assert (stored.amount, stored.name, stored.version) == (Decimal("250000.00"), "Robots", deal.version + 1)
    assert audited(AuditAction.FIELD_CHANGED, deal) == [{"amount": ["100000.00", "250000.00"]}]
    assert said(response) == ["Changes saved."]


def test_editing_a_customer_stores_it_and_audits_the_new_owner(client_for, manager, rep, teammate, pipeline):
    account = OpportunityFactory(owner=rep).account
    url = reverse("customers:edit", args=[account.pk])
    response = edit(client_for(manager), url, name="Ningbo Port Group", owner=teammate.pk)
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.name, account.owner) == ("Ningbo Port Group", teammate)
    assert audited(AuditAction.OWNER_CHANGED, account) == [{"owner": [rep.pk, teammate.pk]}]


def test_editing_a_contact_stores_it(client_for, rep, pipeline):
    contact = ContactFactory(account=OpportunityFactory(owner=rep).account, name="Li Wei")
    response = edit(client_for(rep), reverse("customers:contact_edit", args=[contact.pk]), title="Plant manager")
    assert response.status_code == 302
    assert Contact.objects.get(pk=contact.pk).title == "Plant manager"


# --- the admin's settings: every change audited old → new --------------------------------------------------


def test_editing_a_stage_stores_it_and_audits_old_and_new(client_for, admin_user, stages):
    proposal = stages["Proposal"]
    response = edit(client_for(admin_user), reverse("configuration:stage_edit", args=[proposal.pk]), probability="55")
    assert response.status_code == 302
    assert Stage.objects.get(pk=proposal.pk).probability == 55
    assert audited(AuditAction.CONFIG_CHANGED, proposal) == [{"probability": [40, 55]}]


def test_editing_a_pipeline_stores_it_and_audits_old_and_new(client_for, admin_user, pipeline):
    response = edit(
        client_for(admin_user), reverse("configuration:pipeline_detail", args=[pipeline.pk]), name="Projects"
    )
    assert response.status_code == 302
    assert Pipeline.objects.get(pk=pipeline.pk).name == "Projects"
    assert audited(AuditAction.CONFIG_CHANGED, pipeline) == [{"name": ["Project sales", "Projects"]}]


def test_editing_a_pipelines_health_thresholds_stores_them_and_audits_them(client_for, admin_user, pipeline):
    old = pipeline.inflow_weeks
    url = reverse("configuration:pipeline_health", args=[pipeline.pk])
    response = edit(client_for(admin_user), url, inflow_weeks=str(old + 2))
    assert response.status_code == 302
    assert Pipeline.objects.get(pk=pipeline.pk).inflow_weeks == old + 2
    assert audited(AuditAction.CONFIG_CHANGED, pipeline) == [{"inflow_weeks": [old, old + 2]}]


@pytest.mark.parametrize(
    ("model", "route"), [(Source, "configuration:source_edit"), (LostReason, "configuration:lost_reason_edit")]
)
def test_renaming_a_list_entry_stores_it_and_audits_old_and_new(client_for, admin_user, model, route):
    item = model.objects.create(name="Trade fair")
    response = edit(client_for(admin_user), reverse(route, args=[item.pk]), name="Trade show")
    assert response.status_code == 302
    assert model.objects.get(pk=item.pk).name == "Trade show"
    assert audited(AuditAction.CONFIG_CHANGED, item) == [{"name": ["Trade fair", "Trade show"]}]


def test_editing_an_activity_kind_stores_it_and_audits_old_and_new(client_for, admin_user):
    kind = ActivityKind.objects.get(name="Demo")
    response = edit(client_for(admin_user), reverse("log:kind_edit", args=[kind.pk]), name="Product demo")
    assert response.status_code == 302
    assert ActivityKind.objects.get(pk=kind.pk).name == "Product demo"
    assert audited(AuditAction.CONFIG_CHANGED, kind) == [{"name": ["Demo", "Product demo"]}]


def test_editing_a_target_stores_it_and_audits_old_and_new(client_for, admin_user, team1):
    target = Target.objects.create(
        team=team1,
        period_start=date(2026, 1, 1),
        period_end=date(2026, 3, 31),
        amount=Decimal("500000.00"),
        created_by=admin_user,
    )
    response = edit(client_for(admin_user), reverse("insights:target_edit", args=[target.pk]), amount="650000")
    assert response.status_code == 302
    assert Target.objects.get(pk=target.pk).amount == Decimal("650000.00")
    assert audited(AuditAction.CONFIG_CHANGED, target) == [{"amount": ["500000.00", "650000.00"]}]


def test_saving_a_deal_unchanged_says_so_and_writes_nothing(client_for, rep, pipeline):
    deal = OpportunityFactory(owner=rep)
    response = edit(client_for(rep), reverse("opportunities:edit", args=[deal.pk]))
    assert response.status_code == 302
    assert said(response) == ["Nothing to save: the values are the ones already recorded."]
    assert Opportunity.objects.get(pk=deal.pk).version == deal.version  # a colleague's open form stays current
    assert not audited(AuditAction.FIELD_CHANGED, deal)


@pytest.fixture
def settings_pages(admin_user, stages, team1) -> list[str]:
    source = Source.objects.create(name="Trade fair")
    target = Target.objects.create(team=team1, period_start=date(2026, 1, 1), period_end=date(2026, 3, 31),
                                   amount=Decimal("500000.00"), created_by=admin_user)  # fmt: skip
    pipeline = stages["Proposal"].pipeline
    return [
        reverse("configuration:stage_edit", args=[stages["Proposal"].pk]),
        reverse("configuration:pipeline_detail", args=[pipeline.pk]),
        reverse("configuration:pipeline_health", args=[pipeline.pk]),
        reverse("configuration:health_settings"),
        reverse("configuration:source_edit", args=[source.pk]),
        reverse("log:kind_edit", args=[ActivityKind.objects.get(name="Demo").pk]),
        reverse("insights:target_edit", args=[target.pk]),
    ]


def test_a_settings_page_saved_unchanged_says_so_and_audits_nothing(client_for, admin_user, settings_pages):
    client = client_for(admin_user)
    for url in settings_pages:
        response = edit(client, url)
        assert response.status_code == 302, url
        assert said(response) == ["Nothing to save: the values are the ones already recorded."], url
    assert not AuditEvent.objects.filter(action=AuditAction.CONFIG_CHANGED).exists()
