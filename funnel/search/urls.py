"""The search endpoints under the "search" namespace: the pickers' options, and the global search."""

from django.urls import path

from . import views

app_name = "search"

urlpatterns = [
    path("pick/<slug:source>/", views.pick, name="pick"),
    path("search/", views.results, name="results"),
    path("search/suggest/", views.suggest, name="suggest"),
]
