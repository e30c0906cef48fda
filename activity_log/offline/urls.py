"""The offline shell's routes, under the site root: the worker's scope is the folder it is served from."""

from django.urls import path

from . import views

app_name = "offline"

urlpatterns = [
    path("sw.js", views.service_worker, name="service_worker"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("offline/state/", views.state, name="state"),
    path("offline/book/", views.book, name="book"),
]
