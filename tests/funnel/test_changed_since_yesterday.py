"""What changed since yesterday (funnel.health.changes): since the start of the last working day in the reader's time
zone, the deals that moved stage, were won, were lost, slipped their expected close date or went stalled; on the
manager's and admin's dashboard and in the daily digest, bounded, counted and linked, visible deals only."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.template.loader import render_to_string
from django.urls import reverse

from funnel.health import changes
from funnel.health.digest import send_alert_digests
from funnel.models import Alert, AlertKind, HealthSettings, LostReason, Stage
from funnel.opportunities import services
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 3, 10, tzinfo=SHANGHAI)  # a Thursday: the changes since Wednesday 00:00
EARLIER = datetime(2026, 12, 1, 10, tzinfo=SHANGHAI)  # Tuesday: before the last working day
SINCE = datetime(2026, 12, 2, tzinfo=SHANGHAI)


def stage(name: str) -> Stage:
    return Stage.objects.get(name=name)


def open_deal(owner, name, amount="100000"):
    return OpportunityFactory(owner=owner, name=name, stage=stage("Qualified"), amount=Decimal(amount),
                              expected_close_date=date(2026, 12, 20))  # fmt: skip


def move(deal, by):
    return services.opportunity_move(opportunity=deal, stage=stage("Proposal"), by=by, version=deal.version)


def win(deal, by):
    return services.opportunity_mark_won(opportunity=deal, by=by, version=deal.version)


def lose(deal, by):
    reason, _created = LostReason.objects.get_or_create(name="Price")
    return services.opportunity_mark_lost(opportunity=deal, by=by, version=deal.version, reason=reason)


def reschedule(deal, by, day):
    return services.opportunity_update(opportunity=deal, by=by, version=deal.version, data={"expected_close_date": day})


def stall(deal):
    Alert.objects.create(kind=AlertKind.STALLED, key=f"stalled:opp:{deal.pk}", rep=deal.owner, opportunity=deal,
                         first_seen=NOW - timedelta(hours=1))  # fmt: skip


def names(found: changes.Changes) -> dict[str, list[str]]:
    return {kind.key: [deal.name for deal in kind.rows] for kind in found.kinds}


@pytest.fixture
def week(cast, pipeline):
    """In the rep's team, one deal of each kind since Wednesday, and older changes; the same in the other team."""
    rep, other = cast["rep"], cast["other_rep"]
    deals = {name: open_deal(rep, name) for name in ("Moved", "Won", "Lost", "Slipped", "Pulled in", "Stalled", "Old")}
    theirs = open_deal(other, "Other team's win")
    with time_machine.travel(EARLIER, tick=False):
        win(deals["Old"], rep)  # before Wednesday
    with time_machine.travel(NOW, tick=False):
        move(deals["Moved"], rep)
        win(deals["Won"], rep)
        lose(deals["Lost"], rep)
        reschedule(deals["Slipped"], rep, date(2027, 1, 15))
        reschedule(deals["Pulled in"], rep, date(2026, 12, 10))  # earlier: no slip
        stall(deals["Stalled"])
        win(theirs, other)
    return deals


def test_the_last_working_day_skips_days_off():
    monday_to_friday = [0, 1, 2, 3, 4]
    assert changes.last_working_day(date(2026, 12, 3), monday_to_friday) == date(2026, 12, 2)  # Thu → Wed
    assert changes.last_working_day(date(2026, 12, 7), monday_to_friday) == date(2026, 12, 4)  # Mon → Fri
    assert changes.last_working_day(date(2026, 12, 6), monday_to_friday) == date(2026, 12, 4)  # Sun → Fri
    assert changes.last_working_day(date(2026, 12, 7), [0, 1, 2, 3, 4, 5]) == date(2026, 12, 5)  # Mon → Sat
    assert changes.last_working_day(date(2026, 12, 7), [0]) == date(2026, 11, 30)  # Monday only: a week back


def test_since_is_the_start_of_that_day_in_the_readers_time_zone(cast):
    HealthSettings.objects.create(pk=1, working_days=[0, 1, 2, 3, 4])
    reader = cast["manager"]
    moment = datetime(2026, 12, 7, 1, tzinfo=ZoneInfo("UTC"))  # Monday 09:00 in Shanghai, Sunday evening in New York
    assert changes.since_last_working_day(reader, moment) == datetime(2026, 12, 4, tzinfo=SHANGHAI)
    reader.time_zone = "America/New_York"
    since = changes.since_last_working_day(reader, moment)
    assert since == datetime(2026, 12, 4, tzinfo=ZoneInfo("America/New_York"))  # Friday, New York's


def test_a_manager_reads_each_kind_of_change_of_the_team_only(cast, week):
    found = changes.changes_since(cast["manager"], SINCE)
    assert names(found) == {"moved": ["Moved"], "won": ["Won"], "lost": ["Lost"], "slipped": ["Slipped"],
                            "stalled": ["Stalled"]}  # fmt: skip
    moved, _won, lost, slipped, _stalled = found.kinds
    assert (moved.rows[0].moved_from, moved.rows[0].stage.name) == ("Qualified", "Proposal")
    assert lost.rows[0].lost_reason.name == "Price"
    assert (slipped.rows[0].slipped_from_date, slipped.rows[0].expected_close_date) == (
        date(2026, 12, 20), date(2027, 1, 15))  # fmt: skip
    assert found.total == 5
    assert names(changes.changes_since(cast["other_manager"], SINCE))["won"] == ["Other team's win"]
    assert sorted(names(changes.changes_since(cast["admin"], SINCE))["won"]) == ["Other team's win", "Won"]


def test_a_rep_reads_only_their_own_deals(cast, week):
    assert changes.changes_since(cast["teammate"], SINCE).total == 0
    assert changes.changes_since(cast["rep"], SINCE).total == 5


def test_each_list_shows_the_ten_largest_and_links_the_rest(client_for, cast, pipeline):
    deals = [open_deal(cast["rep"], f"Deal {n:02}", amount=str(1000 * (n + 1))) for n in range(12)]
    with time_machine.travel(NOW, tick=False):
        for deal in deals:
            win(deal, cast["rep"])
        found = changes.changes_since(cast["manager"], SINCE)
    won = found.kinds[1]
    assert (won.count, won.more) == (12, 2)
    assert [deal.name for deal in won.rows] == [f"Deal {n:02}" for n in range(11, 1, -1)]  # largest first
    client = client_for(cast["manager"])
    with time_machine.travel(NOW, tick=False):
        listed = client.get(won.url)
    assert "closed_from=2026-12-02" in won.url and listed.context["count"] == 12


def test_the_moved_and_slipped_links_list_the_same_deals(client_for, cast, week):
    found = changes.changes_since(cast["manager"], SINCE)
    client = client_for(cast["manager"])
    for kind in found.kinds[:4]:
        with time_machine.travel(NOW, tick=False):
            listed = client.get(kind.url)
        assert [deal.name for deal in listed.context["rows"]] == [deal.name for deal in kind.rows], kind.key
    assert found.kinds[4].url == f"{reverse('health:alert_list')}?kind=stalled"


def test_the_list_filters_read_from_the_start_of_the_day(client_for, cast, week):
    client = client_for(cast["rep"])
    with time_machine.travel(NOW, tick=False):
        later = client.get(reverse("opportunities:list"), {"status": "all", "moved_since": "2026-12-04"})
        slipped = client.get(reverse("opportunities:list"), {"status": "all", "slipped_since": "2026-12-03"})
    assert later.context["count"] == 0
    assert [deal.name for deal in slipped.context["rows"]] == ["Slipped"]


def test_the_dashboard_shows_the_panel_to_managers_and_admins(client_for, cast, week):
    HealthSettings.objects.create(pk=1, working_days=[0, 1, 2, 3, 4])
    with time_machine.travel(NOW, tick=False):
        manager_page = client_for(cast["manager"]).get(reverse("insights:dashboard")).content.decode()
        admin_page = client_for(cast["admin"]).get(reverse("insights:dashboard")).content.decode()
        rep_page = client_for(cast["rep"]).get(reverse("insights:dashboard"))
    assert 'data-testid="changes-panel"' in manager_page and "Wednesday" in manager_page
    assert "Slipped" in manager_page and "Other team&#x27;s win" not in manager_page
    assert "Other team&#x27;s win" in admin_page
    assert rep_page.context["changes"] is None and 'data-testid="changes-panel"' not in rep_page.content.decode()


def test_the_panel_follows_the_dashboards_filter(client_for, cast, week, team2):
    with time_machine.travel(NOW, tick=False):
        response = client_for(cast["admin"]).get(reverse("insights:dashboard"), {"team": team2.pk})
    found = response.context["changes"]
    assert found.total == 1 and f"team={team2.pk}" in found.kinds[1].url


@pytest.mark.parametrize("size", [1, 12])
def test_the_changes_cost_the_same_queries_however_many(cast, pipeline, size, django_assert_num_queries):
    deals = [open_deal(cast["rep"], f"Deal {n}") for n in range(2 * size)]
    with time_machine.travel(NOW, tick=False):
        for deal in deals[:size]:
            deal = move(deal, cast["rep"])
            reschedule(deal, cast["rep"], date(2027, 2, 1))
            stall(deal)
        for deal in deals[size:]:
            win(move(deal, cast["rep"]), cast["rep"])  # won since: counted as won, not as moved
    with django_assert_num_queries(5):  # one per kind, the deals with their owner, stage and lost reason
        found = changes.changes_since(cast["manager"], SINCE)
    assert [kind.count for kind in found.kinds] == [size, size, 0, size, size]


# --- the daily digest -----------------------------------------------------------------------------------


def digest_for(user):
    return next(message for message in mail.outbox if message.to == [user.email])


def test_the_digest_carries_what_changed_even_without_new_alerts(cast, week):
    with time_machine.travel(NOW, tick=False):
        Alert.objects.all().delete()  # no new alert: the changes alone are worth the e-mail
        send_alert_digests()
    message = digest_for(cast["manager"])
    assert message.subject == "Loudou: what changed in your funnel"
    assert "What changed since Wednesday" in message.body
    for name in ("Moved", "Won", "Lost", "Slipped"):
        assert name in message.body
    assert "Other team's win" not in message.body and "Old" not in message.body
    deal = week["Slipped"]
    assert f"http://127.0.0.1:8000/opportunities/{deal.pk}/" in message.body
    html = message.alternatives[0][0]
    assert "Slipped" in html and "slipped_since=2026-12-02" in html
    assert "funnel-health scan found" not in message.body


def test_the_digest_has_the_new_alerts_and_the_changes(cast, week):
    with time_machine.travel(NOW, tick=False):
        send_alert_digests()
    message = digest_for(cast["manager"])
    assert "1 new funnel alert" in message.subject
    assert "funnel-health scan found 1 new alert" in message.body and "Went stalled" in message.body


def test_the_digest_speaks_the_readers_language(cast, week):
    cast["manager"].language = "zh-hans"
    cast["manager"].save()
    with time_machine.travel(NOW, tick=False):
        send_alert_digests()
    assert "赢单" in digest_for(cast["manager"]).body


def test_no_change_and_no_alert_sends_nothing(cast, pipeline):
    open_deal(cast["rep"], "Quiet")
    with time_machine.travel(NOW, tick=False):
        assert send_alert_digests() == 0
    assert mail.outbox == []


def test_names_in_the_html_digest_are_escaped(cast, pipeline):
    deal = open_deal(cast["rep"], "<script>alert(1)</script>")
    with time_machine.travel(NOW, tick=False):
        win(deal, cast["rep"])
        send_alert_digests()
    html = digest_for(cast["manager"]).alternatives[0][0]
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_past_the_cap_a_kind_is_counted_as_more_and_reads_no_further(cast, pipeline, monkeypatch):
    """A first scan stalls most open deals on one day: each kind reads CAP + 1 deals at most."""
    monkeypatch.setattr(changes, "CAP", 3)
    deals = [open_deal(cast["rep"], f"Deal {n}") for n in range(5)]
    with time_machine.travel(NOW, tick=False):
        for deal in deals:
            win(deal, cast["rep"])
        won = changes.changes_since(cast["manager"], SINCE).kinds[1]
    assert (won.count, won.capped, len(won.rows)) == (3, True, 3)
    html = render_to_string("funnel/dashboard/_changes.html", {"changes": changes.Changes(SINCE, [won])})
    assert "· 3+" in html and "and more" in html
