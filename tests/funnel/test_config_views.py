"""The admin's funnel settings pages: admin only (QUALITY S11), thin views over config_services,
forms that re-show what was typed, and a constant number of queries per page."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from funnel.configuration.urls import urlpatterns as config_patterns
from funnel.models import LostReason, Pipeline, Source, Stage, StageChange, StageKind
from reps.models import AuditAction, AuditEvent
from tests.factories import OpportunityFactory, PipelineFactory, StageFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def config_rows():
    return AuditEvent.objects.filter(action=AuditAction.CONFIG_CHANGED)


def stage(pipeline: Pipeline, name: str) -> Stage:
    return pipeline.stages.get(name=name)


def stage_names(pipeline: Pipeline) -> list[str]:
    return list(pipeline.stages.order_by("order").values_list("name", flat=True))


def stage_post(**overrides) -> dict:
    data = {"name": "Contract", "probability": "60", "stall_days": "7", "kind": "open", "playbook": "", "checklist": ""}
    return data | overrides


def config_urls(pipeline: Pipeline) -> list[str]:
    """Every settings route, with a real object for those that need one."""
    args = {
        "pipeline": pipeline.pk,
        "stage": stage(pipeline, "Proposal").pk,
        "source": Source.objects.get_or_create(name="Website")[0].pk,
        "lost_reason": LostReason.objects.get_or_create(name="Price")[0].pk,
    }
    urls = []
    for pattern in config_patterns:
        name = f"configuration:{pattern.name}"
        if "<int:pk>" not in str(pattern.pattern):
            urls.append(reverse(name))
        elif pattern.name.startswith("stage"):
            urls.append(reverse(name, args=[args["pipeline" if "stages/" not in str(pattern.pattern) else "stage"]]))
        elif pattern.name.startswith("pipeline"):
            urls.append(reverse(name, args=[args["pipeline"]]))
        elif "kind" in pattern.default_args:
            urls.append(reverse(name, args=[args[pattern.default_args["kind"]]]))
        else:  # a record of its own kind (a campaign, a cost, a territory): the role is checked before it is read
            urls.append(reverse(name, args=[1]))
    return urls


# --- Access (QUALITY S11) -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["rep", "manager"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_rep_and_manager_get_403_on_every_settings_route(role, method, cast, pipeline, client_for):
    client = client_for(cast[role])
    for url in config_urls(pipeline):
        response = getattr(client, method)(url, stage_post(name="Sneaky", direction="up", stage=["1"]))
        assert response.status_code == 403, url
    assert not config_rows().exists()
    assert stage_names(pipeline) == ["Qualified", "Proposal", "Negotiation", "Won", "Lost"]


def test_every_settings_route_sends_anonymous_users_to_sign_in(client, pipeline):
    for url in config_urls(pipeline):
        response = client.post(url)
        assert response.status_code == 302 and reverse("reps:login") in response["Location"], url


def test_denied_settings_request_is_audited(rep, pipeline, client_for):
    client_for(rep).get(reverse("configuration:index"))
    assert AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, actor=rep).exists()


def test_manager_cannot_reorder_stages(manager, pipeline, client_for):
    ids = [str(pk) for pk in pipeline.stages.order_by("-order").values_list("pk", flat=True)]
    response = client_for(manager).post(
        reverse("configuration:stages_reorder", args=[pipeline.pk]), {"stage": ids}, **HTMX
    )
    assert response.status_code == 403
    assert stage_names(pipeline) == ["Qualified", "Proposal", "Negotiation", "Won", "Lost"]


def test_rep_cannot_change_a_stage_probability(rep, pipeline, client_for):
    proposal = stage(pipeline, "Proposal")
    response = client_for(rep).post(
        reverse("configuration:stage_edit", args=[proposal.pk]), stage_post(name="Proposal")
    )
    assert response.status_code == 403
    assert stage(pipeline, "Proposal").probability == 40


# --- Settings index ----------------------------------------------------------------------------------------


def test_index_lists_pipelines_with_stage_and_open_deal_counts(admin_user, rep, pipeline, client_for):
    OpportunityFactory.create_batch(3, owner=rep, stage=stage(pipeline, "Proposal"))
    OpportunityFactory(owner=rep, stage=stage(pipeline, "Won"))
    PipelineFactory(name="Dormant", is_active=False)

    response = client_for(admin_user).get(reverse("configuration:index"))

    rows = {p.name: (p.stage_count, p.open_count) for p in response.context["pipelines"]}
    assert rows == {"Project sales": (5, 3), "Dormant": (0, 0)}
    assert reverse("configuration:pipeline_detail", args=[pipeline.pk]) in response.content.decode()
    assert reverse("configuration:source_list") in response.content.decode()


def test_index_shows_the_empty_states(admin_user, client_for):
    content = client_for(admin_user).get(reverse("configuration:index")).content.decode()
    assert "No pipelines yet" in content
    assert "No configuration changes recorded yet" in content


def test_index_audit_list_shows_who_when_in_their_time_zone_and_old_to_new(admin_user, pipeline, client_for):
    AuditEvent.objects.create(
        action=AuditAction.CONFIG_CHANGED,
        actor=admin_user,
        username=admin_user.username,
        at=datetime(2026, 1, 15, 2, 30, tzinfo=UTC),
        object_type="funnel.stage",
        object_id=str(stage(pipeline, "Proposal").pk),
        detail={"probability": [40, 55]},
    )
    admin_user.time_zone = "Asia/Shanghai"
    admin_user.save()

    content = client_for(admin_user).get(reverse("configuration:index")).content.decode()

    assert "10:30 a.m." in content  # 02:30 UTC is 10:30 in Shanghai
    assert str(admin_user) in content
    assert "“Proposal”" in content
    assert "40 → 55" in content


def test_index_query_count_does_not_grow_with_pipelines_or_audit_rows(
    admin_user, pipeline, client_for, django_assert_num_queries
):
    client = client_for(admin_user)
    client.post(reverse("configuration:pipeline_create"), {"name": "One"})
    client.post(reverse("configuration:source_list"), {"name": "One"})  # one name lookup per kind of object audited
    client.get(reverse("configuration:index"))  # the navigation's alert count is kept for a minute from here
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("configuration:index"))
    expected = len(few)  # read now: the next request resets the connection's query log
    for n in range(10):
        client.post(reverse("configuration:pipeline_create"), {"name": f"More {n}"})
        client.post(reverse("configuration:source_list"), {"name": f"Source {n}"})
    with django_assert_num_queries(expected):
        client.get(reverse("configuration:index"))


def test_admin_creates_a_pipeline_with_starter_stages(admin_user, pipeline, client_for):
    response = client_for(admin_user).post(reverse("configuration:pipeline_create"), {"name": "Renewals"})

    created = Pipeline.objects.get(name="Renewals")
    assert response.status_code == 302 and response["Location"] == reverse(
        "configuration:pipeline_detail", args=[created.pk]
    )
    assert created.stages.count() == 3
    assert config_rows().count() == 1


def test_pipeline_name_clash_reshows_the_form_with_a_clear_message(admin_user, pipeline, client_for):
    response = client_for(admin_user).post(reverse("configuration:pipeline_create"), {"name": "project sales"})
    assert response.status_code == 200
    assert "A pipeline with this name already exists." in response.content.decode()
    assert 'value="project sales"' in response.content.decode()
    assert Pipeline.objects.count() == 1


# --- Pipeline page ----------------------------------------------------------------------------------------


def test_pipeline_page_lists_stages_in_order_with_deal_counts(admin_user, rep, pipeline, client_for):
    OpportunityFactory.create_batch(2, owner=rep, stage=stage(pipeline, "Negotiation"))
    response = client_for(admin_user).get(reverse("configuration:pipeline_detail", args=[pipeline.pk]))
    stages = list(response.context["stages"])
    assert [s.name for s in stages] == ["Qualified", "Proposal", "Negotiation", "Won", "Lost"]
    assert [s.held for s in stages] == [0, 0, 2, 0, 0]
    assert "js/stage_sort.js" in response.content.decode()


def test_pipeline_page_has_no_inline_script_or_style(admin_user, pipeline, client_for):
    content = client_for(admin_user).get(reverse("configuration:pipeline_detail", args=[pipeline.pk])).content.decode()
    assert "<script>" not in content and "style=" not in content


def test_admin_renames_and_deactivates_a_pipeline(admin_user, pipeline, client_for):
    other = PipelineFactory(name="Old")
    response = client_for(admin_user).post(reverse("configuration:pipeline_detail", args=[other.pk]), {"name": "Older"})
    assert response.status_code == 302
    other.refresh_from_db()
    assert (other.name, other.is_active) == ("Older", False)


def test_deactivating_the_default_pipeline_is_refused_with_a_message(admin_user, pipeline, client_for):
    response = client_for(admin_user).post(
        reverse("configuration:pipeline_detail", args=[pipeline.pk]), {"name": "Renamed"}
    )
    assert response.status_code == 200
    assert "The default pipeline stays active." in response.content.decode()
    assert 'value="Renamed"' in response.content.decode()
    assert Pipeline.objects.get(pk=pipeline.pk).name == "Project sales"


def test_admin_sets_the_default_pipeline(admin_user, pipeline, client_for):
    other = PipelineFactory(name="Renewals")
    response = client_for(admin_user).post(reverse("configuration:pipeline_set_default", args=[other.pk]))
    assert response.status_code == 302
    assert list(Pipeline.objects.filter(is_default=True)) == [other]


@pytest.mark.parametrize("stage_count", [1, 20])
def test_pipeline_page_query_count_is_the_same_for_1_and_20_stages(
    stage_count, admin_user, rep, client_for, django_assert_num_queries
):
    pipeline = PipelineFactory(name="Measured", is_default=True)
    for order in range(1, stage_count + 1):
        OpportunityFactory(owner=rep, stage=StageFactory(pipeline=pipeline, order=order))
    client = client_for(admin_user)
    client.get(reverse("configuration:index"))  # warm the session
    with django_assert_num_queries(QUERIES_ON_PIPELINE_PAGE):
        response = client.get(reverse("configuration:pipeline_detail", args=[pipeline.pk]))
    assert len(response.context["stages"]) == stage_count


# session, user, pipeline, stages with their deal counts (the session was renewed by the previous request)
QUERIES_ON_PIPELINE_PAGE = 4


# --- Ordering -------------------------------------------------------------------------------------------------


def test_drag_and_drop_order_is_saved_and_the_table_comes_back(admin_user, pipeline, client_for):
    names = ["Negotiation", "Qualified", "Proposal", "Won", "Lost"]
    ids = [stage(pipeline, name).pk for name in names]

    response = client_for(admin_user).post(
        reverse("configuration:stages_reorder", args=[pipeline.pk]), {"stage": ids}, **HTMX
    )

    assert response.status_code == 200
    assert stage_names(pipeline) == names
    content = response.content.decode()
    assert "Stage order saved." in content
    assert "<html" not in content  # only the table, for htmx to swap
    assert content.index(">Negotiation</a>") < content.index(">Qualified</a>")  # rows; a warning names both


def test_reorder_with_a_foreign_stage_is_refused_with_409_and_the_stored_order(admin_user, pipeline, client_for):
    foreign = StageFactory(pipeline=PipelineFactory(name="Other"))
    ids = [*pipeline.stages.order_by("-order").values_list("pk", flat=True)[1:], foreign.pk]

    response = client_for(admin_user).post(
        reverse("configuration:stages_reorder", args=[pipeline.pk]), {"stage": ids}, **HTMX
    )

    assert response.status_code == 409
    assert "Reload it and try again." in response.content.decode()
    assert stage_names(pipeline) == ["Qualified", "Proposal", "Negotiation", "Won", "Lost"]


def test_reorder_with_garbage_ids_is_refused(admin_user, pipeline, client_for):
    response = client_for(admin_user).post(
        reverse("configuration:stages_reorder", args=[pipeline.pk]), {"stage": ["x"]}
    )
    assert response.status_code == 302
    assert stage_names(pipeline)[0] == "Qualified"


def test_up_button_moves_a_stage_without_script(admin_user, pipeline, client_for):
    negotiation = stage(pipeline, "Negotiation")
    response = client_for(admin_user).post(
        reverse("configuration:stage_move", args=[negotiation.pk]), {"direction": "up"}
    )
    assert response.status_code == 302
    assert stage_names(pipeline)[:3] == ["Qualified", "Negotiation", "Proposal"]


def test_down_button_on_the_last_stage_explains_why_nothing_moved(admin_user, pipeline, client_for):
    lost = stage(pipeline, "Lost")
    response = client_for(admin_user).post(
        reverse("configuration:stage_move", args=[lost.pk]), {"direction": "down"}, follow=True
    )
    assert "cannot move further" in response.content.decode()


# --- Stage form -------------------------------------------------------------------------------------------------


def test_admin_adds_a_stage_with_checklist_and_required_fields(admin_user, pipeline, client_for):
    data = stage_post(checklist="Budget confirmed\n\n  Decision maker met  ", required_fields=["amount", "contact"])
    response = client_for(admin_user).post(reverse("configuration:stage_create", args=[pipeline.pk]), data)

    assert response.status_code == 302
    created = stage(pipeline, "Contract")
    assert created.checklist_items() == ["Budget confirmed", "Decision maker met"]
    assert created.required_fields == ["amount", "contact"]
    assert (created.probability, created.stall_days) == (60, 7)


def test_duplicate_stage_name_reshows_what_was_typed(admin_user, pipeline, client_for):
    data = stage_post(name="Proposal", playbook="Call the buyer first.")
    response = client_for(admin_user).post(reverse("configuration:stage_create", args=[pipeline.pk]), data)
    content = response.content.decode()
    assert response.status_code == 200
    assert "This pipeline already has a stage with this name." in content
    assert "Call the buyer first." in content
    assert pipeline.stages.count() == 5


@pytest.mark.parametrize(
    ("kind", "probability", "message"),
    [("won", "90", "A won stage has a probability of 100%."), ("lost", "10", "A lost stage has a probability of 0%.")],
)
def test_closed_stage_probability_is_validated(kind, probability, message, admin_user, pipeline, client_for):
    data = stage_post(kind=kind, probability=probability)
    response = client_for(admin_user).post(reverse("configuration:stage_create", args=[pipeline.pk]), data)
    assert message in response.content.decode()


def test_probability_over_100_is_refused(admin_user, pipeline, client_for):
    response = client_for(admin_user).post(
        reverse("configuration:stage_create", args=[pipeline.pk]), stage_post(probability="101")
    )
    assert response.status_code == 200
    assert not pipeline.stages.filter(name="Contract").exists()


def test_admin_changes_a_stage_probability_and_it_is_audited(admin_user, pipeline, client_for):
    proposal = stage(pipeline, "Proposal")
    data = stage_post(name="Proposal", probability="45", stall_days="14")
    response = client_for(admin_user).post(reverse("configuration:stage_edit", args=[proposal.pk]), data)
    assert response.status_code == 302
    assert config_rows().get().detail == {"probability": [40, 45]}


def test_changing_the_last_won_stage_to_open_is_refused_with_a_message(admin_user, pipeline, client_for):
    won = stage(pipeline, "Won")
    data = stage_post(name="Won", probability="90", kind="open")
    response = client_for(admin_user).post(reverse("configuration:stage_edit", args=[won.pk]), data)
    assert response.status_code == 200
    assert "so its kind cannot change" in response.content.decode()
    assert stage(pipeline, "Won").kind == StageKind.WON


def test_stage_edit_form_starts_with_the_stored_values(admin_user, pipeline, client_for):
    proposal = stage(pipeline, "Proposal")
    response = client_for(admin_user).get(reverse("configuration:stage_edit", args=[proposal.pk]))
    assert response.context["form"]["probability"].value() == 40


# --- Archiving ---------------------------------------------------------------------------------------------------


def test_archive_page_says_how_many_deals_will_move(admin_user, rep, pipeline, client_for):
    OpportunityFactory.create_batch(2, owner=rep, stage=stage(pipeline, "Proposal"))
    response = client_for(admin_user).get(reverse("configuration:stage_archive", args=[stage(pipeline, "Proposal").pk]))
    content = response.content.decode()
    assert "This stage holds 2 opportunities." in content
    assert [s.name for s in response.context["form"].fields["target"].queryset] == ["Qualified", "Negotiation"]


def test_archive_moves_deals_to_the_chosen_stage(admin_user, rep, pipeline, client_for):
    proposal, negotiation = stage(pipeline, "Proposal"), stage(pipeline, "Negotiation")
    deal = OpportunityFactory(owner=rep, stage=proposal)

    response = client_for(admin_user).post(
        reverse("configuration:stage_archive", args=[proposal.pk]), {"target": negotiation.pk}
    )

    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.stage == negotiation
    assert StageChange.objects.filter(opportunity=deal, from_stage=proposal, to_stage=negotiation).exists()
    assert stage(pipeline, "Proposal").is_archived


def test_archive_of_a_stage_with_deals_asks_for_a_target(admin_user, rep, pipeline, client_for):
    proposal = stage(pipeline, "Proposal")
    OpportunityFactory(owner=rep, stage=proposal)
    response = client_for(admin_user).post(reverse("configuration:stage_archive", args=[proposal.pk]))
    assert response.status_code == 200
    assert not stage(pipeline, "Proposal").is_archived


def test_empty_stage_archives_directly(admin_user, pipeline, client_for):
    negotiation = stage(pipeline, "Negotiation")
    response = client_for(admin_user).post(reverse("configuration:stage_archive", args=[negotiation.pk]))
    assert response.status_code == 302
    assert stage(pipeline, "Negotiation").is_archived


def test_archiving_the_last_lost_stage_is_refused_with_a_message(admin_user, pipeline, client_for):
    lost = stage(pipeline, "Lost")
    response = client_for(admin_user).post(reverse("configuration:stage_archive", args=[lost.pk]))
    assert response.status_code == 200
    assert "so it cannot be archived" in response.content.decode()
    assert not stage(pipeline, "Lost").is_archived


def test_admin_restores_an_archived_stage(admin_user, pipeline, client_for):
    client = client_for(admin_user)
    negotiation = stage(pipeline, "Negotiation")
    client.post(reverse("configuration:stage_archive", args=[negotiation.pk]))
    response = client.post(reverse("configuration:stage_unarchive", args=[negotiation.pk]))
    assert response.status_code == 302
    assert not stage(pipeline, "Negotiation").is_archived


# --- Sources and lost reasons ---------------------------------------------------------------------------------------


def test_admin_adds_and_renames_a_source(admin_user, client_for):
    client = client_for(admin_user)
    assert client.post(reverse("configuration:source_list"), {"name": "Trade fair"}).status_code == 302
    source = Source.objects.get(name="Trade fair")
    response = client.post(
        reverse("configuration:source_edit", args=[source.pk]), {"name": "Trade fairs", "is_active": "on"}
    )
    assert response.status_code == 302
    assert Source.objects.get(pk=source.pk).name == "Trade fairs"


def test_source_list_shows_use_counts_and_empty_state(admin_user, rep, pipeline, client_for):
    client = client_for(admin_user)
    assert "The list is empty." in client.get(reverse("configuration:source_list")).content.decode()
    OpportunityFactory(owner=rep, source=Source.objects.create(name="Website"))
    response = client.get(reverse("configuration:source_list"))
    assert [(s.name, s.uses) for s in response.context["items"]] == [("Website", 1)]


def test_settings_pages_count_deals_up_to_the_cap_and_say_over_it(admin_user, rep, pipeline, client_for, monkeypatch):
    from funnel.configuration import views as config_views

    monkeypatch.setattr(config_views, "COUNT_CAP", 2)  # as 10,000 for a million deals, at the size of a test
    proposal, source = stage(pipeline, "Proposal"), Source.objects.create(name="Website")
    OpportunityFactory.create_batch(3, owner=rep, stage=proposal, source=source)
    client = client_for(admin_user)
    pages = [
        reverse("configuration:index"),
        reverse("configuration:pipeline_detail", args=[pipeline.pk]),
        reverse("configuration:source_list"),
    ]
    for url in pages:  # the cell holds "over 2", not the 3 a full count would have found
        assert '<td class="num">over 2</td>' in client.get(url).content.decode(), url
    archive = client.get(reverse("configuration:stage_archive", args=[proposal.pk])).content.decode()
    assert "This stage holds over 2 opportunities." in archive and "Over 2 of them are open." in archive
    OpportunityFactory(owner=rep, stage=stage(pipeline, "Negotiation"))
    detail = client.get(reverse("configuration:pipeline_detail", args=[pipeline.pk]))
    assert {s.name: s.held for s in detail.context["stages"]}["Negotiation"] == 1  # exact below the cap


def test_admin_deactivates_a_lost_reason(admin_user, client_for):
    reason = LostReason.objects.create(name="Price")
    response = client_for(admin_user).post(
        reverse("configuration:lost_reason_edit", args=[reason.pk]), {"name": "Price"}
    )
    assert response.status_code == 302
    assert not LostReason.objects.get(pk=reason.pk).is_active


def test_duplicate_lost_reason_is_refused_with_a_message(admin_user, client_for):
    LostReason.objects.create(name="Price")
    response = client_for(admin_user).post(reverse("configuration:lost_reason_list"), {"name": "price"})
    assert "This name is already in the list." in response.content.decode()
    assert LostReason.objects.count() == 1
