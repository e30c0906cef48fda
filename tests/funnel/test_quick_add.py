"""Quick add (templates/_quick_add.html): the visit, deal and customer forms opened from any page go back to that
page once saved (config.redirects.safe_next: a path on this site only); a customer's page opens them with the
customer chosen."""

import re

import pytest
from django.test import RequestFactory
from django.urls import reverse

from activity_log.models import Activity, ActivityKind
from config.redirects import safe_next
from funnel.models import Account, Opportunity, Stage
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("/customers/3/?q=宁波&after=x", "/customers/3/?q=宁波&after=x"),
        ("/", "/"),
        ("", None),
        ("https://evil.example/", None),
        ("//evil.example/path", None),
        ("/\\evil.example", None),
        ("javascript:alert(1)", None),
        ("customers/3/", None),
        ("/" + "a" * 3000, None),
    ],
)
def test_next_is_kept_only_when_it_is_a_path_on_this_site(given, kept):
    assert safe_next(RequestFactory().get("/", {"next": given})) == kept
    assert safe_next(RequestFactory().post("/", {"next": given})) == kept


def test_every_page_offers_quick_add_back_to_itself(rep, client_for):
    html = client_for(rep).get(reverse("customers:list"), {"q": "宁波"}).content.decode()
    here = "next=%2Fcustomers%2F%3Fq%3D%25E5%25AE%2581%25E6%25B3%25A2"
    for name in ("log:activity_new", "opportunities:create", "customers:create"):
        assert html.count(f'href="{reverse(name)}?{here}') == 2  # the top bar's menu and the phone's button


def test_a_new_opportunity_goes_back_to_the_page_it_was_opened_from(rep, client_for, pipeline):
    account = AccountFactory(owner=rep, name="宁波港集团")
    client = client_for(rep)
    back = reverse("customers:detail", args=[account.pk])
    form = client.get(reverse("opportunities:create"), {"account": account.pk, "next": back}).content.decode()
    assert f'<input type="hidden" name="next" value="{back}">' in form
    assert re.search(rf'<option value="{account.pk}" selected>宁波港集团</option>', form)
    data = {"name": "Crane refit", "account": account.pk, "amount": "100", "owner": rep.pk,
            "stage": Stage.objects.get(name="Qualified").pk}  # fmt: skip
    refused = client.post(reverse("opportunities:create"), data | {"amount": "-5", "next": back})
    assert f'<input type="hidden" name="next" value="{back}">' in refused.content.decode()  # kept through errors
    response = client.post(reverse("opportunities:create"), data | {"next": back}, follow=True)
    assert response.redirect_chain == [(back, 302)]
    assert "Opportunity “Crane refit” created." in response.content.decode()
    assert Opportunity.objects.get().account == account


def test_a_new_opportunity_without_a_safe_next_opens_the_deal(rep, client_for, pipeline):
    account = AccountFactory(owner=rep)
    data = {"name": "Crane refit", "account": account.pk, "amount": "100", "owner": rep.pk,
            "stage": Stage.objects.get(name="Qualified").pk, "next": "https://evil.example/"}  # fmt: skip
    response = client_for(rep).post(reverse("opportunities:create"), data)
    assert response.url == reverse("opportunities:detail", args=[Opportunity.objects.get().pk])


def test_a_new_customer_goes_back_to_the_page_it_was_opened_from(rep, client_for):
    client = client_for(rep)
    back = reverse("opportunities:board") + "?pipeline=1"
    form = client.get(reverse("customers:create"), {"next": back}).content.decode()
    token = re.search(r'name="once" value="([^"]+)"', form).group(1)
    assert 'name="next" value="/board/?pipeline=1"' in form
    data = {"once": token, "name": "宁波港集团", "next": back}
    response = client.post(reverse("customers:create"), data, follow=True)
    assert response.redirect_chain[0] == (back, 302)
    assert "Customer “宁波港集团” created." in response.content.decode()
    assert Account.objects.get().owner == rep


def test_a_customers_page_opens_the_visit_and_deal_forms_with_the_customer(rep, client_for):
    account = AccountFactory(owner=rep, name="宁波港集团")
    page = reverse("customers:detail", args=[account.pk])
    html = client_for(rep).get(page).content.decode()
    here = page.replace("/", "%2F")
    assert f'href="{reverse("log:activity_new")}?account={account.pk}&amp;next={here}"' in html
    assert f'href="{reverse("opportunities:create")}?account={account.pk}&amp;next={here}"' in html
    assert f"{reverse('log:activity_new')}?next={here}&amp;account={account.pk}" in html  # quick add too


def test_a_teammates_customer_is_not_prefilled(rep, teammate, client_for, pipeline):
    theirs = AccountFactory(owner=teammate, name="Theirs")
    form = client_for(rep).get(reverse("opportunities:create"), {"account": theirs.pk}).content.decode()
    assert "Theirs" not in form


def test_a_visit_logged_from_a_customers_page_goes_back_to_it(rep, client_for):
    account = AccountFactory(owner=rep, name="宁波港集团")
    client = client_for(rep)
    back = reverse("customers:detail", args=[account.pk])
    form = client.get(reverse("log:activity_new"), {"account": account.pk, "next": back}).content.decode()
    assert f'<input type="hidden" name="next" value="{back}">' in form
    data = {"kind": ActivityKind.objects.get(name="Visit").pk, "account": account.pk, "when": "2026-06-01T10:00",
            "outcome": "Walked the site", "idempotency_key": "quick-add-1", "next": back}  # fmt: skip
    refused = client.post(reverse("log:activity_new"), data | {"outcome": ""})
    assert f'<input type="hidden" name="next" value="{back}">' in refused.content.decode()
    response = client.post(reverse("log:activity_new"), data, follow=True)
    assert response.redirect_chain == [(back, 302)]
    assert "Activity recorded." in response.content.decode()
    assert Activity.objects.get().account == account
