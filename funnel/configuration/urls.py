"""The admin's funnel settings, under /settings/ and the "configuration" namespace. Every route is admin only
(reps.access.admin_required)."""

from django.urls import path

from . import marketing_views, territory_views, views

app_name = "configuration"

urlpatterns = [
    path("", views.settings_index, name="index"),
    path("pipelines/new/", views.pipeline_create, name="pipeline_create"),
    path("pipelines/<int:pk>/", views.pipeline_detail, name="pipeline_detail"),
    path("pipelines/<int:pk>/default/", views.pipeline_set_default, name="pipeline_set_default"),
    path("pipelines/<int:pk>/health/", views.pipeline_health, name="pipeline_health"),
    path("pipelines/<int:pk>/stages/new/", views.stage_create, name="stage_create"),
    path("pipelines/<int:pk>/stages/order/", views.stages_reorder, name="stages_reorder"),
    path("stages/<int:pk>/", views.stage_edit, name="stage_edit"),
    path("stages/<int:pk>/move/", views.stage_move, name="stage_move"),
    path("stages/<int:pk>/archive/", views.stage_archive_view, name="stage_archive"),
    path("stages/<int:pk>/unarchive/", views.stage_unarchive, name="stage_unarchive"),
    path("health/", views.health_settings, name="health_settings"),
    path("sources/", views.item_list, {"kind": "source"}, name="source_list"),
    path("sources/<int:pk>/", views.item_edit, {"kind": "source"}, name="source_edit"),
    path("lost-reasons/", views.item_list, {"kind": "lost_reason"}, name="lost_reason_list"),
    path("lost-reasons/<int:pk>/", views.item_edit, {"kind": "lost_reason"}, name="lost_reason_edit"),
    path("campaigns/", marketing_views.campaign_list, name="campaign_list"),
    path("campaigns/<int:pk>/", marketing_views.campaign_edit, name="campaign_edit"),
    path("marketing-costs/", marketing_views.cost_list, name="cost_list"),
    path("marketing-costs/<int:pk>/", marketing_views.cost_edit, name="cost_edit"),
    path("marketing-costs/<int:pk>/delete/", marketing_views.cost_delete, name="cost_delete"),
    path("territories/", territory_views.territory_list, name="territory_list"),
    path("territories/<int:pk>/", territory_views.territory_edit, name="territory_edit"),
    path("territories/<int:pk>/people/", territory_views.territory_people, name="territory_people"),
]
