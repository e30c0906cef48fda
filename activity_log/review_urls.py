"""Routes of the manager review, compliance and transaction card, included by activity_log/urls.py."""

urlpatterns: list = []
