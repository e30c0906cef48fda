"""Campaigns (an admin-edited list like sources, named on deals) and the costs of sources and campaigns per month:
the settings pages and their audit, the deal form, the list's filter, the CSV import and export."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from funnel.models import Campaign, ImportBatch, MarketingCost, Opportunity, Stage
from funnel.opportunities import services
from funnel.transfer.exports import export_header, export_rows
from funnel.transfer.import_checks import check_opportunity_rows
from funnel.transfer.import_reading import parse_csv
from funnel.transfer.imports import default_pipeline
from reps.models import AuditAction, AuditEvent
from tests.factories import AccountFactory, CampaignFactory, OpportunityFactory, SourceFactory

pytestmark = pytest.mark.django_db

CAMPAIGNS, COSTS = "/settings/campaigns/", "/settings/marketing-costs/"


def config_audit(obj) -> list[dict]:
    rows = AuditEvent.objects.filter(action=AuditAction.CONFIG_CHANGED, object_type=obj._meta.label_lower,
                                     object_id=str(obj.pk)).order_by("at", "pk")  # fmt: skip
    return [row.detail for row in rows]


@pytest.fixture
def admin(client_for, admin_user):
    return client_for(admin_user)


@pytest.fixture
def website(db):
    return SourceFactory(name="Website")


# --- the campaign list --------------------------------------------------------------------------------------


def test_an_admin_adds_a_campaign_with_its_source_and_dates_and_it_is_audited(admin, website, pipeline):
    response = admin.post(CAMPAIGNS, {"name": " Trade fair 2026 ", "source": website.pk, "starts_on": "2026-03-01",
                                      "ends_on": "2026-03-31"})  # fmt: skip
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert (campaign.name, campaign.source, campaign.starts_on, campaign.is_active) == (
        "Trade fair 2026", website, date(2026, 3, 1), True)  # fmt: skip
    assert config_audit(campaign) == [{"name": [None, "Trade fair 2026"], "source": [None, "Website"],
                                       "starts_on": [None, "2026-03-01"], "ends_on": [None, "2026-03-31"],
                                       "is_active": [None, True]}]  # fmt: skip
    page = admin.get(CAMPAIGNS).content.decode()
    assert "Trade fair 2026" in page and "Website" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "trade FAIR"}, "This name is already in the list."),
        ({"name": "Autumn", "starts_on": "2026-03-02", "ends_on": "2026-03-01"}, "ends on or after the day it starts"),
        ({"name": ""}, "This field is required."),
        ({"name": "Autumn", "source": "999999"}, "Select a valid choice."),
    ],
)
def test_a_campaign_that_does_not_fit_is_refused_and_nothing_is_saved(admin, pipeline, data, message):
    CampaignFactory(name="Trade fair")
    response = admin.post(CAMPAIGNS, data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Campaign.objects.count() == 1


def test_an_admin_edits_and_deactivates_a_campaign_old_to_new(admin, website, pipeline):
    campaign = CampaignFactory(name="Trade fair")
    url = reverse("configuration:campaign_edit", args=[campaign.pk])
    assert admin.get(url).status_code == 200
    response = admin.post(url, {"name": "Trade fair 2026", "source": website.pk, "starts_on": "", "ends_on": ""})
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.name, campaign.source, campaign.is_active) == ("Trade fair 2026", website, False)
    assert config_audit(campaign)[-1] == {"name": ["Trade fair", "Trade fair 2026"], "source": [None, "Website"],
                                          "is_active": [True, False]}  # fmt: skip
    # The same values again: nothing to save, nothing audited.
    admin.post(url, {"name": "Trade fair 2026", "source": website.pk})
    assert len(config_audit(campaign)) == 1
    assert "Trade fair 2026" in admin.get(reverse("configuration:index")).content.decode()  # the recent changes


def test_the_settings_index_links_campaigns_and_costs(admin, pipeline):
    page = admin.get(reverse("configuration:index")).content.decode()
    assert CAMPAIGNS in page and COSTS in page


def _cost(admin_user, **subject) -> MarketingCost:
    return MarketingCost.objects.create(period_start=date(2026, 11, 1), period_end=date(2026, 11, 30),
                                        amount=Decimal("5000"), updated_by=admin_user, **subject)  # fmt: skip


@pytest.mark.parametrize("role", ["rep", "manager"])
def test_reps_and_managers_may_neither_read_nor_write_marketing_settings(client_for, cast, admin_user, pipeline, role):
    campaign = CampaignFactory(name="Trade fair")
    cost = _cost(admin_user, campaign=campaign)
    client = client_for(cast[role])
    urls = [
        CAMPAIGNS,
        reverse("configuration:campaign_edit", args=[campaign.pk]),
        COSTS,
        reverse("configuration:cost_edit", args=[cost.pk]),
        reverse("configuration:cost_delete", args=[cost.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 403
        assert client.post(url, {"name": "Mine", "amount": "1", "subject": f"campaign-{campaign.pk}",
                                 "month": "2026-12"}).status_code == 403  # fmt: skip
    assert list(Campaign.objects.values_list("name", "is_active")) == [("Trade fair", True)]
    assert list(MarketingCost.objects.values_list("amount", flat=True)) == [Decimal("5000")]


# --- costs per month --------------------------------------------------------------------------------------


def test_an_admin_enters_a_months_cost_and_entering_it_again_changes_it(admin, admin_user, website, pipeline):
    response = admin.post(COSTS, {"subject": f"source-{website.pk}", "month": "2026-02", "amount": "12000"})
    assert response.status_code == 302 and response["Location"] == f"{COSTS}?year=2026"
    cost = MarketingCost.objects.get()
    assert (cost.source, cost.campaign, cost.period_start, cost.period_end, cost.amount, cost.updated_by) == (
        website, None, date(2026, 2, 1), date(2026, 2, 28), Decimal("12000"), admin_user)  # fmt: skip
    admin.post(COSTS, {"subject": f"source-{website.pk}", "month": "2026-02", "amount": "15000.50"})
    cost.refresh_from_db()
    assert MarketingCost.objects.count() == 1 and cost.amount == Decimal("15000.50")
    assert config_audit(cost) == [
        {"source": [None, "Website"], "period_start": [None, "2026-02-01"], "period_end": [None, "2026-02-28"],
         "amount": [None, "12000.00"]},
        {"source": "Website", "period_start": "2026-02-01", "amount": ["12000.00", "15000.50"]},
    ]  # fmt: skip
    page = admin.get(COSTS, {"year": "2026"}).content.decode()
    assert "2026-02" in page and "15,000" in page
    assert "2026-02" not in admin.get(COSTS, {"year": "2025"}).content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"month": "2026-13", "amount": "1"}, "Enter a month as YYYY-MM"),
        ({"month": "Nov", "amount": "1"}, "Enter a month as YYYY-MM"),
        ({"month": "２０２６-１１", "amount": "1"}, "Enter a month as YYYY-MM"),
        ({"month": "0001-01", "amount": "1"}, "Enter a month as YYYY-MM"),
        ({"month": "2026-11", "amount": "-1"}, "greater than or equal to 0"),
        ({"month": "2026-11", "amount": "1e400"}, "less than or equal to 999999999999.99"),
        ({"month": "2026-11", "amount": "1", "subject": "source-999999"}, "Select a valid choice"),
        ({"month": "2026-11", "amount": "1", "subject": ""}, "This field is required."),
    ],
)
def test_a_cost_that_does_not_fit_is_refused(admin, website, pipeline, data, message):
    response = admin.post(COSTS, {"subject": f"source-{website.pk}", **data})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not MarketingCost.objects.exists()


def test_an_admin_corrects_and_deletes_a_cost_and_both_are_audited(admin, admin_user, pipeline):
    campaign = CampaignFactory(name="Trade fair")
    cost = _cost(admin_user, campaign=campaign)
    url = reverse("configuration:cost_edit", args=[cost.pk])
    assert "Trade fair" in admin.get(url).content.decode()
    assert admin.post(url, {"amount": "4000"}).status_code == 302
    cost.refresh_from_db()
    assert cost.amount == Decimal("4000")
    assert admin.post(url, {"amount": "-4"}).status_code == 200
    assert admin.post(reverse("configuration:cost_delete", args=[cost.pk])).status_code == 302
    assert not MarketingCost.objects.exists()
    details = config_audit(cost)
    assert details[0]["amount"] == ["5000.00", "4000.00"]
    assert details[1] == {"campaign": ["Trade fair", None], "period_start": ["2026-11-01", None],
                          "period_end": ["2026-11-30", None], "amount": ["4000.00", None]}  # fmt: skip
    assert admin.get(reverse("configuration:cost_delete", args=[cost.pk])).status_code == 405


@pytest.mark.parametrize("entered", [1, 15])
def test_the_cost_list_reads_the_same_queries_however_many_costs(admin, admin_user, pipeline, entered,
                                                                  django_assert_num_queries):  # fmt: skip
    for index in range(entered):
        _cost(admin_user, campaign=CampaignFactory(name=f"Campaign {index}"))
    admin.get(COSTS)
    # session, user, the year's costs with their subjects and who entered them, the form's sources and campaigns
    with django_assert_num_queries(5):
        assert admin.get(COSTS, {"year": "2026"}).status_code == 200


@pytest.mark.parametrize("campaigns", [1, 15])
def test_the_campaign_list_reads_the_same_queries_however_many(admin, pipeline, campaigns, django_assert_num_queries):
    for index in range(campaigns):
        CampaignFactory(name=f"Campaign {index}", source=SourceFactory(name=f"Source {index}"))
    admin.get(CAMPAIGNS)
    # session, user, the campaigns with their source and deal counts, the form's sources
    with django_assert_num_queries(4):
        assert admin.get(CAMPAIGNS).status_code == 200


# --- on deals ----------------------------------------------------------------------------------------------------


def test_the_deal_form_offers_active_campaigns_and_a_campaign_brings_its_source(client_for, rep, website, pipeline):
    fair = CampaignFactory(name="Trade fair", source=website)
    CampaignFactory(name="Old mailing", is_active=False)
    client = client_for(rep)
    form = client.get(reverse("opportunities:create")).context["form"]
    assert list(form.fields["campaign"].queryset) == [fair]
    account = AccountFactory(owner=rep)
    stage = Stage.objects.get(name="Qualified")
    posted = {"name": "Robots", "account": account.pk, "amount": "100", "owner": rep.pk, "stage": stage.pk,
              "campaign": fair.pk}  # fmt: skip
    response = client.post(reverse("opportunities:create"), posted)
    assert response.status_code == 302
    deal = Opportunity.objects.get()
    assert (deal.campaign, deal.source) == (fair, website)
    assert "Trade fair" in client.get(reverse("opportunities:detail", args=[deal.pk])).content.decode()


def test_a_chosen_source_is_kept_and_an_edit_keeps_a_deactivated_campaign(rep, website, pipeline):
    referral = SourceFactory(name="Referral")
    fair = CampaignFactory(name="Trade fair", source=website)
    stage = Stage.objects.get(name="Qualified")
    deal = services.opportunity_create(by=rep, owner=rep, stage=stage, data={
        "name": "Robots", "account": AccountFactory(owner=rep), "campaign": fair, "source": referral})  # fmt: skip
    assert deal.source == referral
    fair.is_active = False
    fair.save()
    from funnel.opportunities.forms import OpportunityForm

    assert fair in OpportunityForm(instance=deal, user=rep).fields["campaign"].queryset
    # An edit that clears the source while the campaign has one: the campaign's source applies.
    updated = services.opportunity_update(opportunity=deal, by=rep, version=deal.version,
                                          data={"source": None, "campaign": fair})  # fmt: skip
    assert updated.source == website


def test_the_list_filters_by_campaign_and_by_no_campaign(client_for, rep, pipeline):
    fair = CampaignFactory(name="Trade fair")
    OpportunityFactory(owner=rep, campaign=fair, name="From the fair")
    OpportunityFactory(owner=rep, name="Walk-in")
    client = client_for(rep)
    listed = client.get(reverse("opportunities:list"), {"campaign": fair.pk}).context["rows"]
    assert [deal.name for deal in listed] == ["From the fair"]
    listed = client.get(reverse("opportunities:list"), {"campaign": "none"}).context["rows"]
    assert [deal.name for deal in listed] == ["Walk-in"]
    assert len(client.get(reverse("opportunities:list"), {"campaign": "x"}).context["rows"]) == 2  # ignored


def test_an_import_names_a_campaign_and_takes_its_source(rep, website, pipeline):
    CampaignFactory(name="Trade fair", source=website)
    CampaignFactory(name="Old mailing", is_active=False)
    AccountFactory(owner=rep, name="Huaxin Steel")
    text = "name,customer,campaign\nA,Huaxin Steel,trade FAIR\nB,Huaxin Steel,Old mailing\n"
    parsed = parse_csv(text, ImportBatch.Kind.OPPORTUNITIES)
    first, second = check_opportunity_rows(parsed.rows, user=rep, pipeline=default_pipeline())
    assert first.valid and (first.data["campaign"].name, first.data["source"]) == ("Trade fair", website)
    assert second.errors == ["Campaign: “Old mailing” is not one of the active campaigns."]


def test_the_export_has_a_campaign_column(rep, pipeline):
    OpportunityFactory(owner=rep, campaign=CampaignFactory(name="Trade fair"))
    header = export_header(rep)
    [[row]] = list(export_rows(rep, "status=all"))
    assert row[header.index("Campaign")] == "Trade fair"
    assert header[-1].startswith("Created (")
