"""The dashboard, its CSV tables and the admin's targets, under /dashboard/ and the "insights" namespace."""

from django.urls import path

from . import calibration_views, marketing_views, views

app_name = "insights"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export.csv", views.dashboard_export, name="dashboard_export"),
    path("targets/", views.target_list, name="target_list"),
    path("targets/<int:pk>/", views.target_edit, name="target_edit"),
    path("calibration/", calibration_views.calibration_page, name="calibration"),
    path("marketing/", marketing_views.marketing_page, name="marketing"),
    path("marketing/export.csv", marketing_views.marketing_export, name="marketing_export"),
    path("calibration/stages/<int:pk>/accept/", calibration_views.calibration_accept, name="calibration_accept"),
]
