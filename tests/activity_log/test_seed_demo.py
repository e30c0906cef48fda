"""seed_demo: the demo organisation (two teams, a pipeline, customers, deals with weeks of history and the reps'
daily logs; docs/operations.md), idempotent, refused in production."""

import itertools
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from funnel.models import Opportunity, Pipeline, StageChange, StageKind
from reps.models import Role, User

pytestmark = pytest.mark.django_db


def seed(**options):
    call_command("seed_demo", force=True, password="demo-password-2026", stdout=StringIO(), **options)


def test_seed_creates_the_named_logins_with_their_roles_and_teams():
    seed()
    roles = dict(User.objects.filter(is_active=True).values_list("username", "role"))  # "former" has left
    assert roles == {
        "admin": Role.ADMIN,
        "manager": Role.MANAGER,
        "manager2": Role.MANAGER,
        "rep": Role.REP,
        "rep2": Role.REP,
        "rep3": Role.REP,
    }
    rep, rep3 = User.objects.get(username="rep"), User.objects.get(username="rep3")
    assert rep.team.manager.username == "manager"
    assert rep3.team.manager.username == "manager2"
    assert rep.check_password("demo-password-2026")
    assert User.objects.get(username="admin").is_superuser


def test_seed_spreads_deals_over_every_open_stage_with_history():
    seed()
    pipeline = Pipeline.objects.get(is_default=True)
    open_stages = pipeline.stages.filter(kind=StageKind.OPEN)
    assert open_stages.count() >= 4
    assert all(Opportunity.objects.filter(stage=stage).exists() for stage in open_stages)
    assert Opportunity.objects.exclude(status=StageKind.OPEN).exists()
    for deal in Opportunity.objects.all():
        changes = list(StageChange.objects.filter(opportunity=deal).order_by("at", "id"))
        assert changes[0].from_stage is None
        assert changes[-1].to_stage == deal.stage
        assert changes[-1].at == deal.stage_entered_at
        assert deal.status == deal.stage.kind


def test_seed_is_idempotent():
    seed()
    counts = (User.objects.count(), Opportunity.objects.count(), StageChange.objects.count())
    seed()
    assert (User.objects.count(), Opportunity.objects.count(), StageChange.objects.count()) == counts


def test_seed_in_chinese_names_stages_in_chinese():
    seed(language="zh-hans")
    assert Pipeline.objects.get(is_default=True).stages.filter(name="需求分析").exists()


def test_the_chinese_demo_is_one_a_chinese_team_recognises():
    from activity_log.models import Activity, ActivityKind
    from funnel.models import Account

    seed(language="zh-hans")
    people = {user.username: user for user in User.objects.all()}
    assert {user.language for user in people.values()} == {"zh-hans"}  # it opens in Chinese
    assert (str(people["manager"]), str(people["rep"]), str(people["rep3"])) == ("张伟", "李芳", "赵磊")
    huaxin = Account.objects.get(name="华信钢铁集团")
    assert (huaxin.industry, huaxin.city) == ("制造业", "上海")
    assert set(ActivityKind.objects.values_list("name", flat=True)) >= {"拜访", "电话", "会议"}
    assert not Activity.objects.filter(place__regex=r"[A-Za-z]").exists()


def test_the_english_demo_is_unchanged():
    from funnel.models import Account

    seed(language="en")
    manager = User.objects.get(username="manager")
    assert (str(manager), manager.language) == ("Wei Zhang", "en")
    huaxin = Account.objects.get(name="Huaxin Steel Group")
    assert (huaxin.industry, huaxin.city) == ("Manufacturing", "Shanghai")


def test_seed_refuses_to_run_with_debug_off_unless_forced(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo", stdout=StringIO())
    assert not User.objects.exists()


def test_seed_refuses_a_short_password():
    with pytest.raises(CommandError, match="at least 12"):
        call_command("seed_demo", force=True, password="short", stdout=StringIO())


def test_bulk_option_adds_consistent_benchmark_deals_and_tops_up_idempotently():
    seed(opportunities=40, reps=4, teams=2)
    bench = Opportunity.objects.filter(name__startswith="Bench deal")
    assert bench.count() == 40
    assert User.objects.filter(username__startswith="bench_rep").count() == 4
    assert set(bench.values_list("owner__team__name", flat=True)) == {"Bench 01", "Bench 02"}
    for deal in bench.select_related("stage"):
        last = StageChange.objects.filter(opportunity=deal).order_by("at", "id").last()
        assert (last.to_stage, last.at, deal.status) == (deal.stage, deal.stage_entered_at, deal.stage.kind)
    seed(opportunities=50, reps=4, teams=2)
    assert bench.count() == 50


def test_bench_funnel_prints_a_row_per_case():
    seed(opportunities=30, reps=2, teams=1)
    out = StringIO()
    call_command("bench_funnel", requests=2, deep=5, users="bench_rep001,admin", stdout=out)
    lines = out.getvalue().splitlines()
    assert "R_sql" in lines[1]
    assert sum(line.startswith("board") for line in lines) == 2
    assert any(line.startswith("list, after 5 rows") for line in lines)


def test_seed_writes_weeks_of_logs_with_missing_late_and_reviewed_days():
    from activity_log.models import Activity, DailyLog
    from activity_log.services import local_today

    seed()
    rep = User.objects.get(username="rep")
    past = DailyLog.objects.filter(rep=rep, date__lt=local_today(rep))
    assert 8 <= past.count() < 15  # three weeks of working days, a few missing
    assert past.filter(is_late=True).exists()
    assert past.filter(reviewed_by__username="manager").exists()
    assert Activity.objects.filter(daily_log__rep=rep).count() >= past.count()
    today = DailyLog.objects.get(rep=rep, date=local_today(rep))
    assert today.plan.exists() and not today.is_submitted
    deal = Opportunity.objects.filter(activities__isnull=False, owner=rep).first()
    assert deal.last_activity_at == deal.activities.latest("when").when


def test_bench_review_builds_its_team_once_and_prints_the_timing():
    out = StringIO()
    call_command("bench_review", reps=2, days=7, requests=2, stdout=out)
    call_command("bench_review", reps=2, days=7, requests=1, stdout=StringIO())
    from activity_log.models import DailyLog

    assert DailyLog.objects.filter(rep__team__name="Review bench").count() == 2 * 5
    assert "review" in out.getvalue().splitlines()[-1]


def _index_and_key_definitions(*tables):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indrelid::regclass::text = ANY(%s) UNION ALL SELECT conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE conrelid::regclass::text = ANY(%s)",
            [list(tables), list(tables)],
        )
        return sorted(cursor.fetchall())


def test_large_bulk_load_on_postgresql_rebuilds_every_index_and_key_it_set_aside(monkeypatch):
    from django.db import connection

    from funnel.management.commands import _bulk

    if connection.vendor != "postgresql":
        pytest.skip("the indexes are set aside on PostgreSQL only")
    tables = ("funnel_opportunity", "funnel_stagechange", "funnel_account")
    before = _index_and_key_definitions(*tables)
    monkeypatch.setattr(_bulk, "SET_ASIDE_FROM", 1)  # as for a million deals, at the size of a test
    seed(opportunities=300, reps=3, teams=1)
    assert _index_and_key_definitions(*tables) == before
    bench = Opportunity.objects.filter(name__startswith="Bench deal").select_related("stage")
    assert bench.count() == 300 and len({deal.name for deal in bench}) == 300
    for deal in bench:
        changes = list(StageChange.objects.filter(opportunity=deal).order_by("at", "id"))
        assert changes[0].from_stage is None and changes[0].at == deal.created_at
        assert all(a.to_stage == b.from_stage and a.at <= b.at for a, b in itertools.pairwise(changes))
        assert (changes[-1].to_stage, changes[-1].at, deal.status) == (
            deal.stage,
            deal.stage_entered_at,
            deal.stage.kind,
        )
        assert deal.owner_id == deal.account.owner_id and deal.closed_at == (
            None if deal.status == "open" else deal.stage_entered_at
        )


def test_bench_pages_crawls_every_role_from_the_home_page_and_prints_a_row_per_route():
    seed(opportunities=20, reps=2, teams=1)
    out = StringIO()
    call_command("bench_pages", users="admin,bench_manager01,bench_rep001", requests=1, per_route=1, stdout=out)
    text = out.getvalue()
    sections = text.split("\n\n")
    for username in ("admin", "bench_manager01", "bench_rep001"):
        section = next(part for part in sections if part.startswith(username))
        rows = {line.split()[0]: line.split()[1:] for line in section.splitlines()[2:]}
        assert rows["funnel:home"][:2] == ["1", "200"]  # one URL sampled, answered 200
        assert "opportunities:detail" in rows and "health:alert_list" in rows
        assert "reps:logout" not in rows
    assert "settings" in text.split("bench_manager01")[0]  # only the admin reaches the settings
    assert "slowest routes (p95):" in text


def test_seed_sets_quotas_and_leaves_one_completed_handover():
    """Issue 14: the reps' quotas for this quarter and the last; a rep who left, whose book was handed over."""
    from reps.models import Handover, Quota

    seed()
    seed()  # idempotent
    assert Quota.objects.filter(user__username="rep").count() == 2
    assert set(Quota.objects.values_list("user__username", flat=True)) == {"rep", "rep2", "rep3"}
    handover = Handover.objects.get()
    assert handover.from_user.username == "former" and not handover.from_user.is_active
    receipts = {receipt.receiver.username: receipt.acknowledged_at for receipt in handover.receipts.all()}
    assert set(receipts) == {"rep", "rep2"} and receipts["rep"] is not None and receipts["rep2"] is None
    assert not Opportunity.objects.filter(owner=handover.from_user, status=StageKind.OPEN).exists()
