"""Load balance pages under /planning/balance/ and the "balance" namespace (config/urls.py mounts them beside the
funnel's planning pages: the move goes through the daily log's handover, which funnel may not import)."""

from django.urls import path

from . import views

app_name = "balance"

urlpatterns = [
    path("", views.balance_page, name="page"),
    path("preview/", views.balance_preview, name="preview"),
    path("move/", views.balance_move_view, name="move"),
]
