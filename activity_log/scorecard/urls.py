"""The data-quality scorecard under /log/quality/, included by activity_log/urls.py in the "log" namespace."""

from django.urls import path

from . import views

urlpatterns = [
    path("quality/", views.quality_list, name="quality"),
    path("quality/<int:pk>/", views.quality_rep, name="quality_rep"),
]
