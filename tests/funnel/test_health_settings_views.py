"""The admin's funnel-health settings pages: each pipeline's thresholds and the working days, validated
with clear messages, audited like every configuration change, readable on a phone and in 简体中文."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from funnel.models import HealthSettings, Opportunity, Pipeline, Stage
from reps.models import AuditAction, AuditEvent
from tests.factories import OpportunityFactory, PipelineFactory

pytestmark = pytest.mark.django_db

VALID = {"blockage_share": "60", "blockage_min_deals": "4", "inflow_minimum": "2", "inflow_weeks": "6",
         "next_step_cap_days": "21"}  # fmt: skip


def config_rows():
    return AuditEvent.objects.filter(action=AuditAction.CONFIG_CHANGED)


def thresholds(pipeline: Pipeline) -> tuple:
    pipeline.refresh_from_db()
    return (pipeline.blockage_share, pipeline.blockage_min_deals, pipeline.inflow_minimum, pipeline.inflow_weeks,
            pipeline.next_step_cap_days)  # fmt: skip


def test_the_defaults_fit_the_demo(pipeline):
    assert thresholds(pipeline) == (50, 3, 1, 4, 30)
    assert HealthSettings.current().working_days == [0, 1, 2, 3, 4]


def test_admin_sets_a_pipelines_thresholds_and_the_change_is_audited(admin_user, pipeline, client_for):
    response = client_for(admin_user).post(reverse("configuration:pipeline_health", args=[pipeline.pk]), VALID)
    assert response.status_code == 302 and response["Location"] == reverse("configuration:health_settings")
    assert thresholds(pipeline) == (60, 4, 2, 6, 21)
    [row] = config_rows()
    assert (row.actor, row.object_type, row.object_id) == (admin_user, "funnel.pipeline", str(pipeline.pk))
    assert row.detail == {"blockage_share": [50, 60], "blockage_min_deals": [3, 4], "inflow_minimum": [1, 2],
                          "inflow_weeks": [4, 6], "next_step_cap_days": [30, 21]}  # fmt: skip


def test_saving_unchanged_thresholds_writes_no_audit_row(admin_user, pipeline, client_for):
    unchanged = {**VALID, "blockage_share": "50", "blockage_min_deals": "3", "inflow_minimum": "1",
                 "inflow_weeks": "4", "next_step_cap_days": "30"}  # fmt: skip
    client_for(admin_user).post(reverse("configuration:pipeline_health", args=[pipeline.pk]), unchanged)
    assert not config_rows().exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("blockage_share", "0", "Enter a share from 1 to 100."),
        ("blockage_share", "101", "Enter a share from 1 to 100."),
        ("blockage_share", "50.5", "Enter a share from 1 to 100."),
        ("blockage_min_deals", "0", "Enter a whole number from 1 to 10,000."),
        ("blockage_min_deals", str(10**30), "Enter a whole number from 1 to 10,000."),
        ("inflow_minimum", "-1", "Enter a whole number from 0 to 10,000."),
        ("inflow_minimum", "10001", "Enter a whole number from 0 to 10,000."),
        ("inflow_weeks", "53", "Enter a number of weeks from 1 to 52."),
        ("next_step_cap_days", "0", "Enter a number of days from 1 to 365."),
        ("next_step_cap_days", "", "This field is required."),
    ],
)
def test_out_of_range_thresholds_are_refused_with_a_clear_message(
    field, value, message, admin_user, pipeline, client_for
):
    response = client_for(admin_user).post(
        reverse("configuration:pipeline_health", args=[pipeline.pk]), {**VALID, field: value}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert thresholds(pipeline) == (50, 3, 1, 4, 30)
    assert not config_rows().exists()


@pytest.mark.parametrize(("share", "saved"), [("1", True), ("100", True)])
def test_the_share_may_be_anything_from_1_to_100(share, saved, admin_user, pipeline, client_for):
    client_for(admin_user).post(
        reverse("configuration:pipeline_health", args=[pipeline.pk]), {**VALID, "blockage_share": share}
    )
    assert thresholds(pipeline)[0] == int(share)


def test_the_pipeline_page_lists_its_open_stages_stall_days_with_links(admin_user, pipeline, client_for):
    content = client_for(admin_user).get(reverse("configuration:pipeline_health", args=[pipeline.pk])).content.decode()
    proposal = Stage.objects.get(pipeline=pipeline, name="Proposal")
    assert reverse("configuration:stage_edit", args=[proposal.pk]) in content
    assert "Won" not in content.split("stall-heading")[1]


def test_admin_sets_the_working_days_and_the_change_is_audited(admin_user, pipeline, client_for):
    client = client_for(admin_user)
    response = client.post(reverse("configuration:health_settings"), {"working_days": ["5", "0", "1", "2", "3", "4"]})
    assert response.status_code == 302
    assert HealthSettings.current().working_days == [0, 1, 2, 3, 4, 5]
    [row] = config_rows()
    assert row.detail == {"working_days": [[0, 1, 2, 3, 4], [0, 1, 2, 3, 4, 5]]}
    index = client.get(reverse("configuration:index")).content.decode()
    assert (
        "Monday, Tuesday, Wednesday, Thursday, Friday → Monday, Tuesday, Wednesday, Thursday, Friday, Saturday" in index
    )


@pytest.mark.parametrize("days", [[], ["7"], ["funday"]])
def test_working_days_need_at_least_one_real_day(days, admin_user, pipeline, client_for):
    response = client_for(admin_user).post(reverse("configuration:health_settings"), {"working_days": days})
    assert response.status_code == 200
    content = response.content.decode()
    assert "Choose at least one working day." in content or "Select a valid choice." in content
    assert not HealthSettings.objects.exists()


def test_the_health_page_lists_every_pipelines_thresholds(admin_user, pipeline, client_for):
    PipelineFactory(name="Renewals", blockage_share=80, is_active=False)
    content = client_for(admin_user).get(reverse("configuration:health_settings")).content.decode()
    assert "Blockage: 50 % stalled of at least 3 deals" in content
    assert "Blockage: 80 % stalled of at least 3 deals" in content
    assert "Empty cup: fewer than 1 new deal in 4 weeks" in content
    assert reverse("configuration:pipeline_health", args=[pipeline.pk]) in content


def test_the_settings_index_and_pipeline_page_link_to_funnel_health(admin_user, pipeline, client_for):
    client = client_for(admin_user)
    assert reverse("configuration:health_settings") in client.get(reverse("configuration:index")).content.decode()
    detail = client.get(reverse("configuration:pipeline_detail", args=[pipeline.pk])).content.decode()
    assert reverse("configuration:pipeline_health", args=[pipeline.pk]) in detail


@pytest.mark.parametrize("name", ["configuration:health_settings", "configuration:pipeline_health"])
def test_the_pages_read_in_chinese_and_fit_a_phone(name, admin_user, pipeline, client_for):
    admin_user.language = "zh-hans"
    admin_user.save()
    args = [pipeline.pk] if name == "configuration:pipeline_health" else []
    content = client_for(admin_user).get(reverse(name, args=args)).content.decode()
    assert "销售漏斗健康" in content and "阈值" in content
    assert 'name="viewport"' in content and "<table" not in content  # lists and stacked forms, no wide table


@pytest.mark.parametrize("role", ["rep", "manager"])
def test_only_admins_change_the_thresholds(role, cast, pipeline, client_for):
    client = client_for(cast[role])
    assert client.post(reverse("configuration:pipeline_health", args=[pipeline.pk]), VALID).status_code == 403
    assert client.post(reverse("configuration:health_settings"), {"working_days": ["0"]}).status_code == 403
    assert thresholds(pipeline) == (50, 3, 1, 4, 30) and not HealthSettings.objects.exists()


def test_the_health_page_costs_the_same_queries_however_many_pipelines(
    admin_user, pipeline, client_for, django_assert_num_queries
):
    client = client_for(admin_user)
    client.get(reverse("configuration:health_settings"))  # the navigation's alert count is kept from here
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("configuration:health_settings"))
    expected = len(few)  # read now: the next request resets the connection's query log
    for n in range(8):
        PipelineFactory(name=f"P{n}")
    with django_assert_num_queries(expected):
        client.get(reverse("configuration:health_settings"))


def test_a_stages_stall_days_edited_on_its_page_drive_the_stalled_rule(admin_user, rep, pipeline, client_for):
    proposal = Stage.objects.get(pipeline=pipeline, name="Proposal")
    deal = OpportunityFactory(owner=rep, stage=proposal, stage_entered_at=timezone.now() - timedelta(days=10))
    assert not Opportunity.objects.stalled(timezone.now()).filter(pk=deal.pk).exists()
    data = {"name": "Proposal", "probability": "40", "stall_days": "7", "kind": "open", "playbook": "", "checklist": ""}
    response = client_for(admin_user).post(reverse("configuration:stage_edit", args=[proposal.pk]), data)
    assert response.status_code == 302
    assert Opportunity.objects.stalled(timezone.now()).filter(pk=deal.pk).exists()
