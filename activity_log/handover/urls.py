"""Handover (交接) pages, included by activity_log/urls.py under the "log" namespace."""

from django.urls import path

from . import views

urlpatterns = [
    path("handover/", views.handover_list, name="handover_list"),
    path("handover/new/", views.handover_new, name="handover_new"),
    path("handover/orphans/", views.orphans, name="handover_orphans"),
    path("handover/<int:pk>/", views.handover_detail, name="handover_detail"),
    path("handover/<int:pk>/acknowledge/", views.handover_ack, name="handover_ack"),
]
