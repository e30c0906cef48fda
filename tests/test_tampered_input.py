"""Tampered or boundary input is a 400/404 or a form error, never a 500 (issue 11, QUALITY S35).

One test per crafted request of the issue; the boundary fuzz test (test_boundary_fuzz.py) covers the class.
"""

import base64
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from activity_log.models import Activity, ActivityKind, DailyLog
from funnel.health.views import NEWEST_FIRST
from funnel.models import Alert, AlertKind, Opportunity
from funnel.opportunities.filters import SORTS, OpportunityFilterForm, after_cursor, cursor_for
from tests.factories import AccountFactory, OpportunityFactory

pytestmark = pytest.mark.django_db

UNICODE_DIGITS = ["²", "١٢", "１２"]  # str.isdigit() is true for each; int() refuses the first


def raw_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def cursor(value, pk=1) -> str:
    return raw_cursor(json.dumps([value, pk]))


@pytest.fixture
def deal(rep, pipeline):
    return OpportunityFactory(owner=rep)


@pytest.fixture
def client(rep) -> Client:
    client = Client(raise_request_exception=True)
    client.force_login(rep)
    return client


# --- keyset cursors: a tampered one means the first page ------------------------------------------------
TAMPERED_CURSORS = {
    "pk 1e400": ("updated", raw_cursor('["2026-01-01T00:00:00+00:00", 1e400]')),
    "pk 10**30": ("updated", cursor("2026-01-01T00:00:00+00:00", 10**30)),
    "pk 2**64": ("amount", cursor("10.00", 2**64)),
    "amount 1e400": ("amount", raw_cursor("[1e400, 1]")),
    "amount 10**30": ("amount", cursor(10**30)),
    "amount NaN": ("amount", raw_cursor("[NaN, 1]")),
    "year 9999 west of UTC": ("updated", cursor("9999-12-31T23:00:00-05:00")),
    "year 9999": ("created", cursor("9999-12-31T23:59:59+00:00")),
    "year 0001 east of UTC": ("created", cursor("0001-01-01T01:00:00+08:00")),
    "close 2026-02-30": ("close", cursor("2026-02-30")),
    "close 1e400": ("close", raw_cursor("[1e400, 1]")),
    "name with NUL": ("name", cursor("a\x00b")),
    "name 10,000 chars": ("name", cursor("x" * 10_000)),
    "not a pair": ("updated", cursor([1, 2, 3])),
    "not base64": ("updated", "%%%not-base64"),
}


@pytest.mark.parametrize("name", TAMPERED_CURSORS)
def test_a_tampered_cursor_reads_as_the_first_page(name, deal, rep):
    sort, text = TAMPERED_CURSORS[name]
    rows = OpportunityFilterForm({"sort": sort}, user=rep).apply(Opportunity.objects.all())
    assert list(after_cursor(rows, text, SORTS[sort])) == [deal]


@pytest.mark.parametrize("name", TAMPERED_CURSORS)
def test_the_list_answers_a_tampered_cursor_with_its_first_page(name, deal, client):
    sort, text = TAMPERED_CURSORS[name]
    response = client.get(reverse("opportunities:list"), {"after": text, "sort": sort})
    assert response.status_code == 200
    assert response.context["rows"] == [deal]


@pytest.mark.parametrize("name", ["pk 10**30", "year 9999 west of UTC", "year 0001 east of UTC"])
def test_the_alerts_inbox_answers_a_tampered_cursor_with_its_first_page(name, rep, manager, pipeline):
    alert = Alert.objects.create(kind=AlertKind.EMPTY_CUP, rep=rep, key="empty", first_seen=timezone.now())
    client = Client()
    client.force_login(manager)
    response = client.get(reverse("health:alert_list"), {"after": TAMPERED_CURSORS[name][1]})
    assert response.status_code == 200
    assert [row for row, _url in response.context["rows"]] == [alert]


def test_a_genuine_cursor_still_pages(deal, rep):
    older = OpportunityFactory(owner=rep)
    Opportunity.objects.filter(pk=older.pk).update(updated_at=deal.updated_at - timedelta(days=1))
    rows = Opportunity.objects.order_by("-updated_at", "-id")
    assert list(after_cursor(rows, cursor_for(rows[0], SORTS["updated"]), SORTS["updated"])) == [rows[1]]
    assert NEWEST_FIRST.key == "first_seen"


# --- far dates in filters: a form error --------------------------------------------------------------
FAR_DATES = ["9999-12-31", "0001-01-01"]
DATE_FILTERS = ["close_from", "close_to", "created_from", "created_to", "closed_from", "closed_to"]


@pytest.mark.parametrize("day", FAR_DATES)
@pytest.mark.parametrize("name", DATE_FILTERS)
@pytest.mark.parametrize("url", ["opportunities:list", "opportunities:board"])
def test_a_far_date_filter_is_a_form_error_on_the_list_and_board(url, name, day, deal, client):
    response = client.get(reverse(url), {name: day})
    assert response.status_code == 200
    assert name in response.context["filters"].errors


@pytest.mark.parametrize("day", FAR_DATES)
def test_a_far_date_filter_is_a_form_error_on_the_export(day, deal, client):
    response = client.get(reverse("transfer:export_start"), {"created_to": day, "created_from": day})
    assert response.status_code == 200
    assert set(response.context["filters"].errors) == {"created_to", "created_from"}
    assert response.context["count"] == 1


@pytest.mark.parametrize(("start", "end"), [("9999-12-01", "9999-12-31"), ("0001-01-01", "0001-12-31")])
def test_a_far_custom_dashboard_period_is_a_form_error(start, end, deal, manager):
    client = Client()
    client.force_login(manager)
    response = client.get(reverse("insights:dashboard"), {"period": "custom", "start": start, "end": end})
    assert response.status_code == 200
    assert response.context["filters"].errors


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "٢٠٢٦-٠١-٠١"])
def test_a_far_day_of_the_log_is_not_found(day, client):
    assert client.get(f"/log/day/{day}/").status_code == 404


@pytest.mark.parametrize("day", FAR_DATES)
def test_the_review_of_a_far_day_shows_the_default_day(day, manager):
    client = Client()
    client.force_login(manager)
    response = client.get(reverse("log:review"), {"date": day})
    assert response.status_code == 200
    assert response.context["day"] < timezone.localdate() + timedelta(days=2)


# --- ids that str.isdigit() accepts and int() does not, or beyond 64 bits ---------------------------------
BAD_IDS = [*UNICODE_DIGITS, "abc", str(10**30), str(2**64), "-1"]


@pytest.mark.parametrize("value", BAD_IDS)
def test_move_to_on_the_detail_page_is_ignored(value, deal, client):
    response = client.get(reverse("opportunities:detail", args=[deal.pk]), {"move_to": value})
    assert response.status_code == 200


@pytest.mark.parametrize("value", BAD_IDS)
def test_a_posted_stage_that_is_no_id_is_a_form_error(value, deal, client):
    response = client.post(reverse("opportunities:move", args=[deal.pk]), {"stage": value, "version": 1})
    assert response.status_code == 400
    assert "stage" in response.context["move_form"].errors


@pytest.mark.parametrize("value", BAD_IDS)
def test_the_board_refuses_a_move_to_a_stage_that_is_no_id(value, deal, client):
    response = client.post(reverse("opportunities:board_move", args=[deal.pk]), {"to_stage": value, "version": 1})
    assert response.status_code == 200
    assert "That stage does not exist in this pipeline." in response.content.decode()
    deal.refresh_from_db()
    assert deal.version == 1


@pytest.mark.parametrize("value", BAD_IDS)
def test_the_board_refuses_a_version_that_is_no_number(value, deal, stages, client):
    response = client.post(
        reverse("opportunities:board_move", args=[deal.pk]), {"to_stage": stages["Proposal"].pk, "version": value}
    )
    assert response.status_code == 200
    assert "The card was out of date." in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage == stages["Qualified"]


@pytest.mark.parametrize("value", BAD_IDS)
def test_a_bulk_pick_that_is_no_id_is_a_form_error(value, deal, rep, client):
    response = client.post(reverse("opportunities:bulk"), {"action": "reassign", "owner": rep.pk, "pick": f"{value}:1"})
    assert response.status_code == 400
    assert "pick" in response.context["bulk_form"].errors


@pytest.mark.parametrize("value", BAD_IDS)
@pytest.mark.parametrize("name", ["account", "move_to", "plan_item"])
def test_the_activity_form_reads_ids_safely(name, value, client):
    assert client.get(reverse("log:activity_new"), {name: value}).status_code == 200
    response = client.post(reverse("log:activity_new"), {name: value, "outcome": "x"})
    assert response.status_code == 422
    assert Activity.objects.count() == 0


@pytest.mark.parametrize("value", BAD_IDS)
def test_the_opportunity_form_reads_a_stage_that_is_no_id_as_an_error(value, rep, pipeline, client):
    account = AccountFactory(owner=rep)
    data = {"name": "Deal", "account": account.pk, "owner": rep.pk, "stage": value, "amount": "1"}
    response = client.post(reverse("opportunities:create"), data)
    assert response.status_code == 200
    assert "stage" in response.context["form"].errors
    assert not Opportunity.objects.exists()


def test_an_id_beyond_64_bits_in_the_path_is_not_found(client):
    assert client.get(f"/opportunities/{10**30}/").status_code == 404
    assert client.get(f"/log/{2**64}/").status_code == 404


# --- the idempotency key of someone else's form -----------------------------------------------------------
def test_another_reps_idempotency_key_is_a_form_error_not_their_activity(rep, teammate, client):
    kind = ActivityKind.objects.get(name="Visit")  # the kinds are data of a migration
    mine, theirs = AccountFactory(owner=rep), AccountFactory(owner=teammate)
    theirs_client = Client()
    theirs_client.force_login(teammate)
    data = {"kind": kind.pk, "when": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "outcome": "x"}
    theirs_client.post(reverse("log:activity_new"), {**data, "account": theirs.pk, "idempotency_key": "k1"})
    assert Activity.objects.count() == 1

    response = client.post(reverse("log:activity_new"), {**data, "account": mine.pk, "idempotency_key": "k1"})
    assert response.status_code == 422
    assert response.context["form"].non_field_errors()
    assert Activity.objects.count() == 1
    assert not DailyLog.objects.filter(rep=rep, activities__isnull=False).exists()


@pytest.mark.parametrize("when", ["0001-01-01T00:00", "9999-12-31T23:59"])
def test_an_activity_at_a_far_moment_is_a_form_error(when, rep, client):
    kind = ActivityKind.objects.get(name="Visit")
    data = {"kind": kind.pk, "account": AccountFactory(owner=rep).pk, "when": when, "outcome": "x"}
    response = client.post(reverse("log:activity_new"), data)
    assert response.status_code == 422
    assert "when" in response.context["form"].errors
    assert not Activity.objects.exists()


def test_a_nul_in_a_multipart_idempotency_key_is_a_form_error(rep, client):
    """A multipart body is not read by the NUL middleware: the view reads this key before its form does."""
    data = {
        "kind": ActivityKind.objects.get(name="Visit").pk,
        "account": AccountFactory(owner=rep).pk,
        "when": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "outcome": "x",
        "idempotency_key": "k\x00",
    }
    response = client.post(reverse("log:activity_new"), data)
    assert response.status_code == 422
    assert "idempotency_key" in response.context["form"].errors
    assert not Activity.objects.exists()
