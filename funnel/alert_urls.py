"""Routes of the alerts inbox, included by funnel/urls.py under alerts/."""

from django.urls import path

from . import alert_views

urlpatterns = [
    path("", alert_views.alert_list, name="alert_list"),
    path("<int:pk>/acknowledge/", alert_views.alert_acknowledge, name="alert_acknowledge"),
    path("<int:pk>/snooze/", alert_views.alert_snooze, name="alert_snooze"),
]
