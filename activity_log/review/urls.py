"""The manager's review of the daily logs (one day, comments, "reviewed"), included by activity_log/urls.py
under the "log" namespace."""

from django.urls import path

from . import views

urlpatterns = [
    path("review/", views.review, name="review"),
    path("<int:pk>/comment/", views.comment, name="comment"),
    path("<int:pk>/reviewed/", views.reviewed, name="reviewed"),
]
