"""Language and time zone per user; every page in English and 简体中文."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_switching_language_is_remembered_on_the_profile(client_for, rep):
    client = client_for(rep)
    response = client.post(reverse("reps:set_language"), {"language": "zh-hans", "next": "/"})
    assert response.status_code == 302
    rep.refresh_from_db()
    assert rep.language == "zh-hans"
    page = client.get("/").content.decode()
    assert '<html lang="zh-hans">' in page
    assert "首页" in page


def test_profile_language_applies_in_a_new_browser(client_for, rep):
    rep.language = "zh-hans"
    rep.save()
    page = client_for(rep).get("/").content.decode()
    assert '<html lang="zh-hans">' in page


def test_unknown_language_changes_nothing(client_for, rep):
    client_for(rep).post(reverse("reps:set_language"), {"language": "xx", "next": "/"})
    rep.refresh_from_db()
    assert rep.language == "en"


def test_anonymous_visitor_can_switch_the_login_page_language(client):
    client.post(reverse("reps:set_language"), {"language": "zh-hans", "next": reverse("reps:login")})
    assert '<html lang="zh-hans">' in client.get(reverse("reps:login")).content.decode()


def test_preferences_save_language_and_time_zone(client_for, rep):
    response = client_for(rep).post(
        reverse("reps:preferences"), {"language": "zh-hans", "time_zone": "America/New_York"}
    )
    assert response.status_code == 302
    rep.refresh_from_db()
    assert (rep.language, rep.time_zone) == ("zh-hans", "America/New_York")


def test_unknown_time_zone_is_refused_with_the_input_kept(client_for, rep):
    response = client_for(rep).post(reverse("reps:preferences"), {"language": "en", "time_zone": "Mars/Olympus"})
    assert response.status_code == 200
    assert response.context["form"].errors["time_zone"]
    rep.refresh_from_db()
    assert rep.time_zone == "Asia/Shanghai"


def test_pages_show_times_in_the_users_time_zone(client_for, rep, pipeline):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from tests.factories import OpportunityFactory, StageChangeFactory

    deal = OpportunityFactory(owner=rep)
    # 2026-03-01 17:30 UTC is already 2 March, 01:30 in Shanghai.
    StageChangeFactory(opportunity=deal, at=datetime(2026, 3, 1, 17, 30, tzinfo=ZoneInfo("UTC")))
    page = client_for(rep).get(reverse("opportunities:detail", args=[deal.pk])).content.decode()
    assert "03/02/2026 1:30 a.m." in page
