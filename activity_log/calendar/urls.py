"""The calendar feed, included by activity_log/urls.py under the "log" namespace."""

from django.urls import path

from . import views

urlpatterns = [
    path("calendar/", views.calendar_settings, name="calendar"),
    path("calendar/reminders/", views.reminder_settings, name="reminders"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar_feed"),
]
