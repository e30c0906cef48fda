"""The language a person chose stays chosen: the sign-in page's language (chosen there, or the browser's)
becomes a new person's profile language at the first sign-in; the switcher names languages in themselves and is
in reach on a phone."""

import pytest
from django.conf import settings
from django.urls import reverse

from reps.models import User

pytestmark = pytest.mark.django_db


def sign_in(client, user, password, **headers):
    return client.post(reverse("reps:login"), {"username": user.username, "password": password}, headers=headers)


def test_the_language_chosen_on_the_sign_in_page_becomes_a_new_persons(client, rep, password):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert client.get(reverse("reps:login")).content.decode().count('lang="zh-hans"') >= 1
    assert sign_in(client, rep, password).status_code == 302
    assert User.objects.get(pk=rep.pk).language == "zh-hans"
    home = client.get(reverse("funnel:home"))
    assert '<html lang="zh-hans">' in home.content.decode()


def test_a_chinese_browser_makes_a_new_person_chinese(client, rep, password):
    sign_in(client, rep, password, accept_language="zh-CN,zh;q=0.9,en;q=0.8")
    assert User.objects.get(pk=rep.pk).language == "zh-hans"


def test_an_english_browser_makes_a_new_person_of_a_chinese_site_english(client, rep, password, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    rep.language = "zh-hans"  # the site's default: nobody chose it for them
    rep.save()
    sign_in(client, rep, password, accept_language="en-US,en;q=0.9")
    assert User.objects.get(pk=rep.pk).language == "en"


def test_a_language_set_up_for_a_person_stays_whatever_their_browser_says(client, rep, password):
    rep.language = "zh-hans"  # set by an admin; the site's default is English
    rep.save()
    sign_in(client, rep, password, accept_language="en-US,en;q=0.9")
    assert User.objects.get(pk=rep.pk).language == "zh-hans"


def test_a_choice_on_the_sign_in_page_wins_over_a_language_set_up_before(client, rep, password):
    rep.language = "zh-hans"
    rep.save()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    sign_in(client, rep, password, accept_language="zh-CN")
    assert User.objects.get(pk=rep.pk).language == "en"


def test_without_a_choice_or_a_browser_language_the_profile_keeps_its_own(client, rep, password):
    rep.language = "zh-hans"
    rep.save()
    sign_in(client, rep, password)
    assert User.objects.get(pk=rep.pk).language == "zh-hans"


def test_after_the_first_sign_in_the_profile_language_wins(client, rep, password):
    sign_in(client, rep, password, accept_language="en-US")
    client.post(reverse("reps:logout"))
    sign_in(client, rep, password, accept_language="zh-CN")
    assert User.objects.get(pk=rep.pk).language == "en"
    assert '<html lang="en">' in client.get(reverse("funnel:home")).content.decode()


def test_the_switcher_names_each_language_in_itself_and_is_in_reach_on_a_phone(client_for, rep):
    rep.language = "zh-hans"
    rep.save()
    page = client_for(rep).get(reverse("funnel:home")).content.decode()
    assert 'lang="en">English</option>' in page and "英语" not in page
    assert 'lang="zh-hans">简体中文</option>' in page
    # Outside the collapsed menu, shown below the md breakpoint only; the one in the menu is for wider screens.
    phone = page.index('data-testid="language-select-phone"')
    assert page.rindex('<div class="d-md-none', 0, phone) > page.index('class="navbar-brand')
    assert phone < page.index('id="main-nav"')
    assert page.index('data-testid="language-select"') > page.index('id="main-nav"')
