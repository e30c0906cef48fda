"""Routes of the manager review, compliance and transaction card, included by activity_log/urls.py."""

from django.urls import path

from . import card_views, kind_views, review_views

urlpatterns = [
    path("review/", review_views.review, name="review"),
    path("<int:pk>/comment/", review_views.comment, name="comment"),
    path("<int:pk>/reviewed/", review_views.reviewed, name="reviewed"),
    path("card/<int:pk>/", card_views.card, name="card"),
    path("kinds/", kind_views.kinds, name="kinds"),
    path("kinds/<int:pk>/", kind_views.kind_edit, name="kind_edit"),
]
