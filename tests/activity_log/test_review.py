"""The manager's review: who submitted a day (on time, late, missing, reviewed), reading each log,
commenting and marking reviewed, weekly compliance, and the rep's view of the comments."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from activity_log import selectors, services
from activity_log.models import ActivityKind, Comment, DailyLog
from activity_log.review import selectors as review_selectors
from activity_log.review.selectors import LogStatus
from reps.models import AuditAction, AuditEvent, Role
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
WEDNESDAY = date(2026, 3, 4)
SATURDAY = date(2026, 3, 7)


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A moment of `day` in Shanghai, the cast's time zone."""
    return datetime.combine(day, time(hour, minute, second), tzinfo=SHANGHAI)


def record(rep, day: date, hour: int = 10, minute: int = 0, outcome: str = "Met the buyer", **data):
    when = at(day, hour, minute)
    with time_machine.travel(when + timedelta(minutes=1), tick=False):
        data = {"kind": ActivityKind.objects.get(name="Visit"), "account": AccountFactory(owner=rep),
                "when": when, "outcome": outcome, **data}  # fmt: skip
        return services.activity_record(rep=rep, data=data)


def work_day(rep, day: date, *, submit_at: datetime | None, activities: int = 0, done: int = 0, carried: int = 0,
             **report) -> DailyLog:  # fmt: skip
    """The rep's log for `day`: activities, plan items cleared as done or carried over, then submitted."""
    with time_machine.travel(at(day - timedelta(days=1), 12), tick=False):
        log = services.daily_log_get(rep=rep, day=day)  # opened the day before: no proposed plan to clear
    for n in range(activities):
        record(rep, day, hour=9 + n)
    with time_machine.travel(at(day, 8), tick=False):
        for n in range(done + carried):
            data = {"kind": ActivityKind.objects.get(name="Call"), "account": AccountFactory(owner=rep)}
            item = services.plan_item_add(rep=rep, log=log, data=data)
            services.plan_item_clear(item=item, by=rep, done=n < done, reason="" if n < done else "Buyer away")
    if submit_at is not None:
        with time_machine.travel(submit_at, tick=False):
            services.daily_log_submit(log=log, by=rep, summary=report.pop("summary", "A good day"), **report)
    return DailyLog.objects.get(pk=log.pk)


def review_page(client, day: date = WEDNESDAY, **params):
    return client.get(reverse("log:review"), {"date": day.isoformat(), **params})


def statuses(response) -> dict[str, LogStatus]:
    return {row.rep.username: row.status for row in response.context["rows"]}


# --- access ------------------------------------------------------------------------------------------


def test_rep_gets_403_on_the_review_page(rep, client_for):
    assert client_for(rep).get(reverse("log:review")).status_code == 403


def test_manager_sees_own_teams_reps_but_not_the_other_team(manager, rep, teammate, other_rep, client_for):
    work_day(other_rep, WEDNESDAY, submit_at=at(WEDNESDAY, 20), summary="Secret other-team summary")
    response = review_page(client_for(manager))
    assert response.status_code == 200
    assert set(statuses(response)) == {"r1", "r2"}
    assert b"Secret other-team summary" not in response.content


def test_manager_is_listed_only_on_a_day_they_kept_a_log(manager, rep, client_for):
    assert "m1" not in statuses(review_page(client_for(manager)))
    work_day(manager, WEDNESDAY, submit_at=at(WEDNESDAY, 20))
    assert "m1" in statuses(review_page(client_for(manager)))


def test_admin_sees_every_team_or_one_chosen_team(admin_user, rep, teammate, other_rep, team2, client_for):
    client = client_for(admin_user)
    assert set(statuses(review_page(client))) == {"r1", "r2", "r3"}
    assert set(statuses(review_page(client, team=team2.pk))) == {"r3"}


def test_manager_cannot_choose_another_team(manager, rep, teammate, other_rep, team1, team2, client_for):
    """Another team's id answers 404 with an audit row (it used to be ignored silently: all the manager's people
    under a page that looked filtered); the manager's own team, no team and a malformed one still show."""
    client = client_for(manager)
    refused = review_page(client, team=team2.pk)
    assert refused.status_code == 404
    assert b"T2" not in refused.content
    denied = AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, object_type="reps.team")
    assert list(denied.values_list("object_id", "username")) == [(str(team2.pk), "m1")]
    assert review_page(client, team=10**9).status_code == 404
    assert denied.count() == 1  # no such team: nothing to audit

    assert set(statuses(review_page(client, team=team1.pk))) == {"r1", "r2"}
    for shown in (review_page(client), review_page(client, team="not-an-id")):
        assert set(statuses(shown)) == {"r1", "r2"}
        assert shown.context["team"] is None
        assert [team.name for team in shown.context["teams"]] == ["T1"]


def test_deactivated_rep_is_not_listed(manager, rep, teammate, client_for):
    teammate.is_active = False
    teammate.save()
    assert set(statuses(review_page(client_for(manager)))) == {"r1"}


# --- the day and its statuses ---------------------------------------------------------------------------


def test_default_day_is_yesterday_in_the_managers_time_zone(manager, client_for):
    manager.time_zone = "America/New_York"
    manager.save()
    # 03:00 UTC on 5 March is still 4 March in New York (and already 5 March in Shanghai).
    with time_machine.travel(datetime(2026, 3, 5, 3, 0, tzinfo=ZoneInfo("UTC")), tick=False):
        response = client_for(manager).get(reverse("log:review"))
    assert response.context["day"] == date(2026, 3, 3)
    assert response.context["next_day"] == date(2026, 3, 4)


def test_prev_and_next_links_keep_the_team(manager, team1, client_for):
    with time_machine.travel(at(date(2026, 3, 10), 9), tick=False):
        response = review_page(client_for(manager), team=team1.pk)
    content = response.content.decode()
    assert f"?date=2026-03-03&amp;team={team1.pk}" in content
    assert f"?date=2026-03-05&amp;team={team1.pk}" in content


DEADLINE = at(WEDNESDAY + timedelta(days=1), 2)  # local midnight + DAILY_LOG_GRACE_HOURS (2)


@pytest.mark.parametrize(
    ("submitted", "now", "expected"),
    [
        (DEADLINE - timedelta(seconds=1), DEADLINE + timedelta(hours=1), LogStatus.ON_TIME),
        (DEADLINE, DEADLINE + timedelta(hours=1), LogStatus.LATE),
        (None, DEADLINE - timedelta(seconds=1), LogStatus.NOT_SUBMITTED),
        (None, DEADLINE, LogStatus.MISSING),
    ],
)
def test_status_at_the_deadline_boundary(manager, rep, client_for, settings, submitted, now, expected):
    settings.DAILY_LOG_GRACE_HOURS = 2
    if submitted is not None:
        work_day(rep, WEDNESDAY, submit_at=submitted)
    with time_machine.travel(now, tick=False):
        response = review_page(client_for(manager))
    assert statuses(response)["r1"] == expected
    assert str(expected.label) in response.content.decode()


def test_reviewed_log_shows_reviewed_and_still_shows_it_was_late(manager, rep, client_for):
    log = work_day(rep, WEDNESDAY, submit_at=DEADLINE + timedelta(hours=5))
    services.daily_log_mark_reviewed(log=log, by=manager)
    response = review_page(client_for(manager))
    assert statuses(response)["r1"] == LogStatus.REVIEWED
    row = response.content.decode().split('data-testid="review-row-r1"')[1].split("</tr>")[0]
    assert "Reviewed" in row and "late" in row


def test_a_weekend_day_without_a_log_is_not_missing(manager, rep, client_for):
    with time_machine.travel(at(SATURDAY + timedelta(days=3), 9), tick=False):
        response = review_page(client_for(manager), day=SATURDAY)
    assert statuses(response)["r1"] == LogStatus.NOT_SUBMITTED


def test_each_log_is_readable_with_activity_times_in_the_reps_time_zone(manager, rep, client_for):
    manager.time_zone = "UTC"
    manager.save()
    activity = record(rep, WEDNESDAY, hour=10, minute=30, outcome="Demo <b>went</b> well", next_step="Send quote")
    report = {"summary": "Two visits", "problems": "Budget frozen", "support_needed": "Need a reference customer"}
    log = work_day(rep, WEDNESDAY, submit_at=at(WEDNESDAY, 20), done=1, carried=1, **report)
    with time_machine.travel(at(WEDNESDAY, 21), tick=False):
        changed = {**{f: getattr(activity, f) for f in services.ACTIVITY_FIELDS}, "outcome": "Demo went very well"}
        services.activity_amend(activity=activity, by=rep, data=changed, reason="Typo in the outcome")
    content = review_page(client_for(manager)).content.decode()
    assert f'id="log-{log.pk}"' in content
    assert "10:30" in content  # 02:30 UTC is 10:30 in the rep's Shanghai
    assert "Demo went very well" in content and "Send quote" in content
    assert "Buyer away" in content  # the carried-over item's reason
    assert "Two visits" in content and "Budget frozen" in content
    assert 'alert alert-warning py-1">Need a reference customer' in content  # support needed stands out
    assert "Typo in the outcome" in content and "Demo &lt;b&gt;went&lt;/b&gt; well → Demo went very well" in content
    assert 'name="answers_support"' in content  # the checkbox, offered because support was asked for
    assert reverse("log:detail", args=[log.pk]) in content
    assert "<b>went</b>" not in content


def test_a_correction_reads_as_field_labels_and_display_values_in_chinese(manager, rep, client_for):
    manager.language = "zh-hans"
    manager.save()
    activity = record(rep, WEDNESDAY, hour=10, next_date=date(2026, 3, 6))
    work_day(rep, WEDNESDAY, submit_at=at(WEDNESDAY, 20))
    with time_machine.travel(at(WEDNESDAY, 21), tick=False):
        changed = {**{f: getattr(activity, f) for f in services.ACTIVITY_FIELDS}}
        changed.update(kind=ActivityKind.objects.get(name="Call"), next_date=None, when=at(WEDNESDAY, 11, 15))
        services.activity_amend(activity=activity, by=rep, data=changed, reason="记错了类型")
    content = review_page(client_for(manager)).content.decode()
    assert "类型：拜访 → 电话" in content
    assert "下次跟进日期：2026-03-06 → —" in content
    assert "时间：2026-03-04 10:00 → 2026-03-04 11:15" in content  # in the rep's Shanghai time
    assert "kind:" not in content and "next_date" not in content


def test_the_compliance_note_names_the_working_days_the_organisation_set(manager, client_for):
    from funnel.models import HealthSettings

    settings_row = HealthSettings.current()
    settings_row.working_days = [0, 1, 2, 3, 4, 5]
    settings_row.save()
    manager.language = "zh-hans"
    manager.save()
    content = review_page(client_for(manager)).content.decode()
    assert "工作日（星期一、星期二、星期三、星期四、星期五、星期六）" in content
    assert "周一至周五" not in content


# --- comment and mark reviewed ---------------------------------------------------------------------------


def test_manager_comments_and_returns_to_the_same_day_and_team(manager, rep, team1, client_for):
    log = work_day(rep, WEDNESDAY, submit_at=at(WEDNESDAY, 20), support_needed="Pricing help")
    response = client_for(manager).post(
        reverse("log:comment", args=[log.pk]), {"body": "Call me at 9", "answers_support": "on", "team": team1.pk}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/log/review/?date=2026-03-04&team={team1.pk}#log-{log.pk}"
    comment = Comment.objects.get()
    assert (comment.author, comment.body, comment.answers_support) == (manager, "Call me at 9", True)


def test_empty_comment_is_refused(manager, rep, client_for):
    log = work_day(rep, WEDNESDAY, submit_at=at(WEDNESDAY, 20))
    response = client_for(manager).post(reverse("log:comment", args=[log.pk]), {"body": "   "}, follow=True)
    assert not Comment.objects.exists()
    assert b"Write a comment." in response.content


def test_manager_cannot_comment_on_another_teams_log(manager, other_rep, client_for):
    log = work_day(other_rep, WEDNESDAY, submit_at=at(WEDNESDAY, 20))
    response = client_for(manager).post(reverse("log:comment", args=[log.pk]), {"body": "Hello"})
    assert response.status_code == 404
    assert not Comment.objects.exists()
    denial = AuditEvent.objects.get(action=AuditAction.ACCESS_DENIED)
    assert (denial.actor, denial.object_type, denial.object_id) == (manager, "activity_log.dailylog", str(log.pk))


def test_rep_cannot_comment_on_a_teammates_log(rep, teammate, client_for):
    log = work_day(teammate, WEDNESDAY, submit_at=at(WEDNESDAY, 20))
    assert client_for(rep).post(reverse("log:comment", args=[log.pk]), {"body": "Hi"}).status_code == 404
    assert not Comment.objects.exists()


def test_rep_replies_on_own_log_and_goes_back_to_the_day(rep, client_for):
    log = work_day(rep, WEDNESDAY, submit_at=at(WEDNESDAY, 20))
    response = client_for(rep).post(reverse("log:comment", args=[log.pk]), {"body": "Thanks"})
    assert response["Location"] == "/log/day/2026-03-04/#comments"
    assert Comment.objects.get().author == rep


def test_manager_marks_a_log_reviewed(manager, rep, client_for):
    log = work_day(rep, WEDNESDAY, submit_at=at(WEDNESDAY, 20))
    response = client_for(manager).post(reverse("log:reviewed", args=[log.pk]))
    assert response["Location"] == f"/log/review/?date=2026-03-04#log-{log.pk}"
    log.refresh_from_db()
    assert log.reviewed_by == manager and log.reviewed_at is not None


def test_admin_marks_any_teams_log_reviewed(admin_user, other_rep, client_for):
    log = work_day(other_rep, WEDNESDAY, submit_at=at(WEDNESDAY, 20))
    client_for(admin_user).post(reverse("log:reviewed", args=[log.pk]))
    log.refresh_from_db()
    assert log.reviewed_by == admin_user


def test_manager_cannot_mark_another_teams_log_reviewed(manager, other_rep, client_for):
    log = work_day(other_rep, WEDNESDAY, submit_at=at(WEDNESDAY, 20))
    assert client_for(manager).post(reverse("log:reviewed", args=[log.pk])).status_code == 404
    log.refresh_from_db()
    assert log.reviewed_at is None
    assert AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, object_id=str(log.pk)).exists()


def test_rep_cannot_mark_own_log_reviewed(rep, client_for):
    log = work_day(rep, WEDNESDAY, submit_at=at(WEDNESDAY, 20))
    response = client_for(rep).post(reverse("log:reviewed", args=[log.pk]), follow=True)
    log.refresh_from_db()
    assert log.reviewed_at is None
    assert b"Only the rep&#x27;s manager can review this log." in response.content


def test_an_unsubmitted_log_cannot_be_marked_reviewed(manager, rep, client_for):
    log = work_day(rep, WEDNESDAY, submit_at=None, activities=1)
    client_for(manager).post(reverse("log:reviewed", args=[log.pk]))
    log.refresh_from_db()
    assert log.reviewed_at is None


def test_review_and_comment_routes_refuse_get(manager, rep, client_for):
    log = work_day(rep, WEDNESDAY, submit_at=at(WEDNESDAY, 20))
    client = client_for(manager)
    assert client.get(reverse("log:comment", args=[log.pk])).status_code == 405
    assert client.get(reverse("log:reviewed", args=[log.pk])).status_code == 405


# --- query count ---------------------------------------------------------------------------------------


def full_team(manager, team1, size: int) -> None:
    """`size` reps, each with a submitted day: activities, plan, an amendment and a comment."""
    for n in range(size):
        person = UserFactory(username=f"crew{n}", role=Role.REP, team=team1)
        activity = record(person, WEDNESDAY, hour=10)
        log = work_day(person, WEDNESDAY, submit_at=at(WEDNESDAY, 20), activities=1, done=1, carried=1,
                       support_needed="Help")  # fmt: skip
        with time_machine.travel(at(WEDNESDAY, 21), tick=False):
            data = {**{f: getattr(activity, f) for f in services.ACTIVITY_FIELDS}, "outcome": "Corrected"}
            services.activity_amend(activity=activity, by=person, data=data, reason="Fix")
        services.daily_log_comment(log=log, by=manager, body="Good")
        if n % 2:
            services.daily_log_mark_reviewed(log=log, by=manager)


# session, user with the menu's team, the working days (read once: the day's status, compliance and the note
# naming them), teams, people, their logs, plan, activities, amendments, comments, compliance, this week's
# data-quality scores; then the session's idle-timeout stamp (savepoint, update, release).
REVIEW_QUERIES = 17  # includes the navigation's alert count and the bell's (each then kept a minute in the session)


@pytest.mark.parametrize("size", [1, 10])
def test_review_page_costs_the_same_queries_for_1_and_10_reps(manager, team1, client_for, size):
    full_team(manager, team1, size)
    client = client_for(manager)
    with CaptureQueriesContext(connection) as queries:
        response = review_page(client)
    assert response.status_code == 200
    assert len(response.context["rows"]) == size
    assert len(queries) == REVIEW_QUERIES, [q["sql"] for q in queries]


# --- compliance ----------------------------------------------------------------------------------------

TODAY = date(2026, 3, 18)  # a Wednesday; the weeks are those of 23 Feb, 2, 9 and 16 March


@pytest.fixture
def four_weeks(rep):
    """Hand-made weeks for R1, read on Wednesday 18 March 2026 (everyone joined well before)."""
    from reps.models import User

    User.objects.update(date_joined=datetime(2025, 1, 6, tzinfo=ZoneInfo("UTC")))
    # Week of 9 March: Mon on time, Tue late, Wed recorded but never submitted, Thu nothing, Fri on time,
    # Sat on time (a weekend day: not counted as a log). 2 + 1 + 1 + 0 + 0 + 1 activities; plan 1 done, 2 carried.
    work_day(rep, date(2026, 3, 9), submit_at=at(date(2026, 3, 9), 20), activities=2, done=1, carried=1)
    work_day(rep, date(2026, 3, 10), submit_at=at(date(2026, 3, 11), 9), activities=1)
    work_day(rep, date(2026, 3, 11), submit_at=None, activities=1, carried=1)
    work_day(rep, date(2026, 3, 13), submit_at=at(date(2026, 3, 13), 19))
    work_day(rep, date(2026, 3, 14), submit_at=at(date(2026, 3, 14), 19), activities=1)
    # This week: Mon on time, Tue nothing, Wed (today) on time with 3 activities.
    work_day(rep, date(2026, 3, 16), submit_at=at(date(2026, 3, 16), 21))
    work_day(rep, TODAY, submit_at=at(TODAY, 18), activities=3)


def test_compliance_counts_match_the_hand_computed_weeks(manager, rep, teammate, four_weeks, django_assert_num_queries):
    people = [rep, teammate]
    for person in people:
        person.refresh_from_db()  # joined long before the weeks counted (see four_weeks)
    with django_assert_num_queries(2):  # the working days, then one GROUP BY (rep, week) for everyone
        result = review_selectors.compliance(manager, people, today=TODAY)
    by_rep = {entry.rep.username: entry.weeks for entry in result}
    r1 = [(w.start, w.working_days, w.on_time, w.late, w.missing, w.activities, w.plan_done, w.plan_carried)
          for w in by_rep["r1"]]  # fmt: skip
    assert r1 == [
        (date(2026, 2, 23), 5, 0, 0, 5, 0, 0, 0),
        (date(2026, 3, 2), 5, 0, 0, 5, 0, 0, 0),
        (date(2026, 3, 9), 5, 2, 1, 2, 5, 1, 2),
        (date(2026, 3, 16), 3, 2, 0, 1, 3, 0, 0),
    ]
    assert by_rep["r1"][2].activities_per_day == 1.0
    assert [(w.working_days, w.missing, w.on_time) for w in by_rep["r2"]] == [
        (5, 5, 0),
        (5, 5, 0),
        (5, 5, 0),
        (3, 2, 0),
    ]


def test_compliance_only_counts_logs_the_viewer_may_see(other_manager, rep, four_weeks):
    weeks = review_selectors.compliance(other_manager, [rep], today=TODAY)[0].weeks
    assert sum(w.on_time + w.late + w.activities for w in weeks) == 0


def test_compliance_section_is_on_the_review_page(manager, rep, four_weeks, client_for):
    with time_machine.travel(at(TODAY, 19), tick=False):
        response = review_page(client_for(manager), day=TODAY)
    table = response.content.decode().split('data-testid="compliance-r1"')[1].split("</tbody>")[0]
    assert "Week 11" in table  # ISO week of 9 March 2026
    assert ">1.0<" in table


# --- the rep's side: comments and unread comments ----------------------------------------------------------


def test_unread_comments_are_others_comments_on_own_logs_newest_first(
    rep, teammate, manager, django_assert_num_queries
):
    own = work_day(rep, WEDNESDAY, submit_at=at(WEDNESDAY, 20))
    earlier = work_day(rep, WEDNESDAY - timedelta(days=1), submit_at=at(WEDNESDAY - timedelta(days=1), 20))
    other = work_day(teammate, WEDNESDAY, submit_at=at(WEDNESDAY, 20))
    with time_machine.travel(at(WEDNESDAY, 21), tick=False):
        first = services.daily_log_comment(log=earlier, by=manager, body="First")
    with time_machine.travel(at(WEDNESDAY, 22), tick=False):
        second = services.daily_log_comment(log=own, by=manager, body="Second", answers_support=True)
        services.daily_log_comment(log=own, by=rep, body="My own reply")
        services.daily_log_comment(log=other, by=manager, body="Teammate's")
    with django_assert_num_queries(1):
        unread = selectors.unread_comments_for(rep)
        assert [(c.body, c.daily_log.date, str(c.author)) for c in unread] == [
            ("Second", WEDNESDAY, str(manager)), ("First", WEDNESDAY - timedelta(days=1), str(manager))
        ]  # fmt: skip
    assert selectors.unread_comments_for(rep, limit=1) == [second]
    services.comments_mark_read(log=earlier, by=rep)
    assert selectors.unread_comments_for(rep) == [second]
    assert first not in selectors.unread_comments_for(rep)


def test_unread_comments_partial_links_to_the_day(rep, manager, rf):
    log = work_day(rep, WEDNESDAY, submit_at=at(WEDNESDAY, 20))
    services.daily_log_comment(log=log, by=manager, body="<script>x</script> see me", answers_support=True)
    html = render_to_string(
        "activity_log/_unread_comments.html", {"unread_comments": selectors.unread_comments_for(rep), "user": rep}
    )
    assert "/log/day/2026-03-04/#comments" in html
    assert "Answers your support request" in html
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert render_to_string("activity_log/_unread_comments.html", {"unread_comments": [], "user": rep}).strip() == ""


def test_comments_partial_shows_author_time_in_the_readers_zone_and_the_support_badge(rep, manager):
    log = work_day(rep, WEDNESDAY, submit_at=at(WEDNESDAY, 20))
    with time_machine.travel(datetime(2026, 3, 4, 13, 5, tzinfo=ZoneInfo("UTC")), tick=False):
        services.daily_log_comment(log=log, by=manager, body="Here is a reference", answers_support=True)
    log = review_selectors.with_contents(DailyLog.objects.filter(pk=log.pk)).get()
    html = render_to_string("activity_log/_comments.html", {"log": log, "user": rep})
    assert str(manager) in html and "Here is a reference" in html
    assert "21:05" in html  # 13:05 UTC read in Shanghai
    assert "Answers your support request" in html
    rep.time_zone = "UTC"
    assert "13:05" in render_to_string("activity_log/_comments.html", {"log": log, "user": rep})
    assert "Answers the support request" in render_to_string(
        "activity_log/_comments.html", {"log": log, "user": manager}
    )


def test_days_before_a_rep_joined_are_not_missing(manager, rep):
    from reps.models import User

    User.objects.filter(pk=rep.pk).update(date_joined=datetime(2026, 3, 17, 9, tzinfo=ZoneInfo("UTC")))
    rep.refresh_from_db()
    weeks = review_selectors.compliance(manager, [rep], today=date(2026, 3, 18))[0].weeks
    assert [(week.working_days, week.missing) for week in weeks] == [(0, 0), (0, 0), (0, 0), (2, 1)]
