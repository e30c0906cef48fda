"""The daily log's pages under /log/ and the "log" namespace: the day, the transaction card, and the review and
activity kinds sub-packages' routes."""

from django.urls import include, path

from . import card_views, views

app_name = "log"

urlpatterns = [
    path("", views.today, name="today"),
    path("day/<str:day>/", views.day, name="day"),
    path("<int:pk>/", views.log_detail, name="detail"),
    path("<int:pk>/plan/", views.plan_add, name="plan_add"),
    path("plan/<int:pk>/clear/", views.plan_clear, name="plan_clear"),
    path("plan/<int:pk>/move/", views.plan_move, name="plan_move"),
    path("<int:pk>/submit/", views.submit, name="submit"),
    path("activity/new/", views.activity_new, name="activity_new"),
    path("activity/<int:pk>/edit/", views.activity_edit, name="activity_edit"),
    path("activity/move/", views.activity_move, name="activity_move"),
    path("card/<int:pk>/", card_views.card, name="card"),
    path("", include("activity_log.review.urls")),
    path("", include("activity_log.kinds.urls")),
    path("", include("activity_log.handover.urls")),
    path("", include("activity_log.calendar.urls")),
    path("", include("activity_log.scorecard.urls")),
]
