from django.urls import path

from . import views

app_name = "reps"

urlpatterns = [
    path("accounts/login/", views.login_view, name="login"),
    path("accounts/logout/", views.logout_view, name="logout"),
    path("accounts/password/", views.password_change, name="password_change"),
    path("accounts/preferences/", views.preferences, name="preferences"),
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("team/", views.team, name="team"),
]
