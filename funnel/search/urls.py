"""The pickers' search endpoint, under the "search" namespace."""

from django.urls import path

from . import views

app_name = "search"

urlpatterns = [
    path("pick/<slug:source>/", views.pick, name="pick"),
]
