"""Planning pages under /planning/ and the "planning" namespace."""

from django.urls import path

from . import views

app_name = "planning"

urlpatterns = [
    path("quotas/", views.quota_grid, name="quota_grid"),
]
