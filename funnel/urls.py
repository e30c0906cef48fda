from django.urls import include, path

from . import views

app_name = "funnel"

urlpatterns = [
    path("", views.home, name="home"),
    path("opportunities/", views.opportunity_list, name="opportunity_list"),
    path("opportunities/<int:pk>/", views.opportunity_detail, name="opportunity_detail"),
    path("customers/", include("funnel.account_urls")),
    path("settings/", include("funnel.config_urls")),
    path("transfer/", include("funnel.csv_urls")),
]
