"""Planning pages under /planning/ and the "planning" namespace."""

from django.urls import path

from . import plan_views, views

app_name = "planning"

urlpatterns = [
    path("quotas/", views.quota_grid, name="quota_grid"),
    path("people/<int:pk>/plan/", plan_views.person_plan, name="person_plan"),
    path("teams/<int:pk>/plan/", plan_views.team_plan, name="team_plan"),
]
