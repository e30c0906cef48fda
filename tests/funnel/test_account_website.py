"""A customer's website is a link only when it is a web address: Account.safe_website_url decides, the page
only renders its answer (the scheme check used to be a template slice, blind to "HTTPS://" and to
" javascript:")."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from funnel.models import Account
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "website,link",
    [
        ("https://example.com/about", "https://example.com/about"),
        ("http://example.cn", "http://example.cn"),
        ("HTTPS://EXAMPLE.COM", "HTTPS://EXAMPLE.COM"),
        ("  https://example.com  ", "https://example.com"),
        ("javascript:alert(1)", ""),
        ("JavaScript:alert(1)", ""),
        (" javascript:alert(1)", ""),
        ("java\tscript:alert(1)", ""),
        ("java\nscript:alert(1)", ""),
        ("data:text/html,<script>alert(1)</script>", ""),
        ("vbscript:msgbox(1)", ""),
        ("//example.com", ""),
        ("http:///no-host", ""),
        ("example.com", ""),
        ("", ""),
    ],
)
def test_only_a_web_address_is_a_link(website, link):
    assert Account(website=website).safe_website_url == link


@pytest.mark.parametrize("website", ["javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,hi"])
def test_the_customer_page_shows_any_other_address_as_text_never_as_a_link(client_for, rep, website):
    account = AccountFactory(owner=rep, website=website)  # stored around the form's validation (an import)
    content = client_for(rep).get(reverse("customers:detail", args=[account.pk])).content.decode()
    shown = escape(website)
    assert shown in content  # as text
    assert f'href="{shown}"' not in content
    assert 'rel="noopener noreferrer nofollow"' not in content  # the website's link, and only it, carries this


def test_the_customer_page_links_a_web_address(client_for, rep):
    account = AccountFactory(owner=rep, website="HTTPS://Example.com/a?b=1&c=2")
    content = client_for(rep).get(reverse("customers:detail", args=[account.pk])).content.decode()
    assert '<a href="HTTPS://Example.com/a?b=1&amp;c=2" rel="noopener noreferrer nofollow">' in content
