"""Routes of this part of the funnel app, included by funnel/urls.py under the "funnel" namespace."""

urlpatterns: list = []
