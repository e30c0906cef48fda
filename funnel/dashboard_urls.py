from django.urls import path

from . import dashboard_views

urlpatterns = [
    path("", dashboard_views.dashboard, name="dashboard"),
    path("export.csv", dashboard_views.dashboard_export, name="dashboard_export"),
    path("targets/", dashboard_views.target_list, name="target_list"),
    path("targets/<int:pk>/", dashboard_views.target_edit, name="target_edit"),
]
