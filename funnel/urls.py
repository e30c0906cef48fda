"""The funnel app's pages: the home page under the "funnel" namespace, each sub-package's pages under its own
(opportunities, customers, configuration, insights, health, transfer, search, planning). The URLs users see are
unchanged by the split."""

from django.urls import include, path

from . import views

urlpatterns = [
    path("", include(([path("", views.home, name="home")], "funnel"))),
    path("", include("funnel.opportunities.urls")),
    path("", include("funnel.transfer.urls")),
    path("", include("funnel.search.urls")),
    path("dashboard/", include("funnel.insights.urls")),
    path("customers/", include("funnel.customers.urls")),
    path("settings/", include("funnel.configuration.urls")),
    path("alerts/", include("funnel.health.urls")),
    path("planning/", include("funnel.planning.urls")),
]
