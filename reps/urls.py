from django.urls import path

from . import second_factor_views, views

app_name = "reps"

urlpatterns = [
    path("accounts/login/", views.login_view, name="login"),
    path("accounts/logout/", views.logout_view, name="logout"),
    path("accounts/password/", views.password_change, name="password_change"),
    path("accounts/preferences/", views.preferences, name="preferences"),
    path("accounts/two-step/", second_factor_views.second_factor, name="second_factor"),
    path("accounts/two-step/setup/", second_factor_views.second_factor_setup, name="second_factor_setup"),
    path("accounts/two-step/off/", second_factor_views.second_factor_disable, name="second_factor_disable"),
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("team/", views.team, name="team"),
]
