from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("", include("reps.urls")),
    path("planning/balance/", include("activity_log.balance.urls")),
    path("", include("funnel.urls")),
    path("log/", include("activity_log.urls")),
    path("notifications/", include("activity_log.bell.urls")),
    path("", include("activity_log.offline.urls")),
]

handler500 = "config.views.server_error"
