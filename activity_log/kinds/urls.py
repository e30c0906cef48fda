"""The admin's list of activity kinds, included by activity_log/urls.py under the "log" namespace."""

from django.urls import path

from . import views

urlpatterns = [
    path("kinds/", views.kinds, name="kinds"),
    path("kinds/<int:pk>/", views.kind_edit, name="kind_edit"),
]
