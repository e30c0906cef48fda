"""The alerts inbox, under /alerts/ and the "health" namespace."""

from django.urls import path

from . import bulk, views

app_name = "health"

urlpatterns = [
    path("", views.alert_list, name="alert_list"),
    path("<int:pk>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
    path("<int:pk>/snooze/", views.alert_snooze, name="alert_snooze"),
    path("bulk/", bulk.alert_bulk, name="alert_bulk"),
]
