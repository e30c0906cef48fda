from django.urls import include, path

from . import board_views, export, picker_views, views

app_name = "funnel"

urlpatterns = [
    path("", views.home, name="home"),
    path("opportunities/", views.opportunity_list, name="opportunity_list"),
    path("opportunities/new/", views.opportunity_create, name="opportunity_create"),
    path("opportunities/bulk/", views.opportunity_bulk, name="opportunity_bulk"),
    path("opportunities/export/", export.opportunity_export, name="opportunity_export"),
    path("opportunities/<int:pk>/", views.opportunity_detail, name="opportunity_detail"),
    path("opportunities/<int:pk>/edit/", views.opportunity_edit, name="opportunity_edit"),
    path("opportunities/<int:pk>/move/", views.opportunity_move, name="opportunity_move"),
    path("opportunities/<int:pk>/won/", views.opportunity_won, name="opportunity_won"),
    path("opportunities/<int:pk>/lost/", views.opportunity_lost, name="opportunity_lost"),
    path("opportunities/<int:pk>/reopen/", views.opportunity_reopen, name="opportunity_reopen"),
    path("opportunities/<int:pk>/reassign/", views.opportunity_reassign, name="opportunity_reassign"),
    path("board/", board_views.board, name="board"),
    path("pick/<slug:source>/", picker_views.pick, name="pick"),
    path("board/<int:pk>/move/", board_views.board_move, name="board_move"),
    path("dashboard/", include("funnel.dashboard_urls")),
    path("customers/", include("funnel.account_urls")),
    path("settings/", include("funnel.config_urls")),
    path("transfer/", include("funnel.csv_urls")),
    path("alerts/", include("funnel.alert_urls")),
]
