"""The opportunity list, its pages and actions, and the board, under the "opportunities" namespace."""

from django.urls import path

from . import board, reschedule, views

app_name = "opportunities"

urlpatterns = [
    path("opportunities/", views.opportunity_list, name="list"),
    path("opportunities/new/", views.opportunity_create, name="create"),
    path("opportunities/bulk/", views.opportunity_bulk, name="bulk"),
    path("opportunities/<int:pk>/", views.opportunity_detail, name="detail"),
    path("opportunities/<int:pk>/edit/", views.opportunity_edit, name="edit"),
    path("opportunities/<int:pk>/move/", views.opportunity_move, name="move"),
    path("opportunities/<int:pk>/won/", views.opportunity_won, name="won"),
    path("opportunities/<int:pk>/lost/", views.opportunity_lost, name="lost"),
    path("opportunities/<int:pk>/reopen/", views.opportunity_reopen, name="reopen"),
    path("opportunities/<int:pk>/reassign/", views.opportunity_reassign, name="reassign"),
    path("opportunities/<int:pk>/reschedule/", reschedule.reschedule, name="reschedule"),
    path("board/", board.board, name="board"),
    path("board/<int:pk>/move/", board.board_move, name="board_move"),
]
