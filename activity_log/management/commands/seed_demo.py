"""Loads the demo organisation: two teams, a pipeline, customers, deals with a few weeks of history,
and the reps' daily logs for those weeks."""

import random
import time
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from activity_log.models import ActivityKind
from activity_log.quality import refresh_quality_scores
from funnel.management.commands import _bulk
from funnel.models import (
    Account,
    Campaign,
    Contact,
    LostReason,
    MarketingCost,
    Opportunity,
    Pipeline,
    Source,
    Stage,
    StageChange,
    StageKind,
)
from reps.models import Role, Team, Territory, User
from reps.services import user_set_role

from . import _demo_logs, _demo_planning

DEFAULT_PASSWORD = "loudou-demo-2026"  # noqa: S105  (documented in the README; demo only)

# (username, (first name, last name) in English and in Chinese, role, team index or None, time zone). A Chinese
# name is stored as given name and family name like any other, and shown family name first (张伟).
PEOPLE = [
    ("admin", ("Lin", "Admin"), ("静", "林"), Role.ADMIN, None, "Asia/Shanghai"),
    ("manager", ("Wei", "Zhang"), ("伟", "张"), Role.MANAGER, 0, "Asia/Shanghai"),
    ("manager2", ("Emma", "Clarke"), ("晓燕", "陈"), Role.MANAGER, 1, "Europe/London"),
    ("rep", ("Fang", "Li"), ("芳", "李"), Role.REP, 0, "Asia/Shanghai"),
    ("rep2", ("Jun", "Wang"), ("军", "王"), Role.REP, 0, "Asia/Shanghai"),
    ("rep3", ("Tom", "Baker"), ("磊", "赵"), Role.REP, 1, "America/New_York"),
]

# (name, industry, city) in English and in Chinese.
COMPANIES = [
    (("Huaxin Steel Group", "Manufacturing", "Shanghai"), ("华信钢铁集团", "制造业", "上海")),
    (("Eastern Harbour Logistics", "Logistics", "Ningbo"), ("东港物流", "物流", "宁波")),
    (("Jinghua Pharmaceuticals", "Healthcare", "Beijing"), ("京华制药", "医疗健康", "北京")),
    (("Pearl River Power", "Energy", "Guangzhou"), ("珠江电力", "能源", "广州")),
    (("Tianfu Smart City", "Government", "Chengdu"), ("天府智慧城市", "政府", "成都")),
    (("Northwind Retail", "Retail", "London"), ("北风零售", "零售", "伦敦")),
    (("Summit Hospital Group", "Healthcare", "Boston"), ("顶峰医院集团", "医疗健康", "波士顿")),
    (("Blue Ocean Shipping", "Logistics", "Qingdao"), ("蓝海航运", "物流", "青岛")),
    (("Xinghe Semiconductors", "Electronics", "Wuxi"), ("星河半导体", "电子", "无锡")),
    (("Greenfield Agritech", "Agriculture", "Harbin"), ("绿野农业科技", "农业", "哈尔滨")),
    (("Metro Transit Authority", "Government", "New York"), ("城市轨道交通", "政府", "纽约")),
    (("Changjiang Chemicals", "Chemicals", "Wuhan"), ("长江化工", "化工", "武汉")),
]

CONTACTS = [
    ("Chen Jie", "陈杰"),
    ("Zhou Min", "周敏"),
    ("Sarah Green", "莎拉·格林"),
    ("Liu Yang", "刘洋"),
    ("Huang Lei", "黄磊"),
    ("David Moore", "大卫·摩尔"),
]

PROJECTS = [
    ("ERP upgrade", "ERP 升级"),
    ("Warehouse automation", "仓储自动化"),
    ("Data centre expansion", "数据中心扩容"),
    ("Safety monitoring system", "安全监控系统"),
    ("Annual service contract", "年度服务合同"),
    ("Fleet telematics", "车队远程管理"),
    ("Energy management platform", "能源管理平台"),
    ("Quality inspection line", "质检产线"),
]


def stage_definitions() -> list[dict]:
    """The default pipeline of a project sale; names in the active language.

    A checklist and required fields are what must be true to *enter* the stage.
    """
    return [
        {
            "name": _("Qualified lead"),
            "probability": 10,
            "stall_days": 14,
            "playbook": _("Confirm budget, authority, need and timing in the first call."),
        },
        {
            "name": _("Needs analysis"),
            "probability": 20,
            "stall_days": 14,
            "playbook": _("Visit the site, map the stakeholders and write down the customer's pain points."),
        },
        {
            "name": _("Solution & demo"),
            "probability": 40,
            "stall_days": 21,
            "playbook": _("Present a solution built on the needs analysis and demonstrate it to the users."),
            "required_fields": ["contact"],
        },
        {
            "name": _("Proposal"),
            "probability": 60,
            "stall_days": 21,
            "playbook": _("Send a written proposal and quotation; agree on the decision date."),
            "checklist": _("Demo held and technical questions answered"),
            "required_fields": ["amount", "expected_close_date"],
        },
        {
            "name": _("Negotiation"),
            "probability": 80,
            "stall_days": 14,
            "playbook": _("Negotiate terms with procurement; prepare the contract."),
            "checklist": _("Quotation sent\nDecision date agreed"),
        },
        {
            "name": _("Won"),
            "probability": 100,
            "stall_days": 0,
            "kind": StageKind.WON,
            "checklist": _("Contract signed"),
        },
        {"name": _("Lost"), "probability": 0, "stall_days": 0, "kind": StageKind.LOST},
    ]


class Command(BaseCommand):
    help = "Load the demo organisation (idempotent) and print its logins."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help="Password for every demo login.")
        parser.add_argument(
            "--language",
            default=settings.LANGUAGE_CODE,
            choices=[code for code, _name in settings.LANGUAGES],
            help="Language of the demo: its data (people, stages, customers, deals, activity kinds) and its users'.",
        )
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off (never on a live site).")
        bulk = parser.add_argument_group("benchmark volumes (bulk inserts; idempotent: tops up to the numbers)")
        bulk.add_argument("--opportunities", type=int, default=0, help="Extra opportunities, e.g. 1000000.")
        bulk.add_argument("--reps", type=int, default=200, help="Benchmark reps sharing them (default 200).")
        bulk.add_argument("--teams", type=int, default=20, help="Benchmark teams, each with a manager (default 20).")

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            raise CommandError("DEBUG is off: this looks like production. Use --force to seed anyway.")
        if len(options["password"]) < 12:
            raise CommandError("The demo password must be at least 12 characters long.")
        chinese = options["language"].startswith("zh")
        with translation.override(options["language"]), transaction.atomic():
            people = self.seed_people(options["password"], language=options["language"], chinese=chinese)
            pipeline = self.seed_pipeline()
            if chinese:
                self.name_activity_kinds_in_chinese()
            created = self.seed_deals(people, pipeline, chinese=chinese)
            self.seed_marketing(people["admin"])
            reps = [people["rep"], people["rep2"], people["rep3"]]
            managers = {people["rep"].pk: people["manager"], people["rep2"].pk: people["manager"]}
            logs = _demo_logs.seed_logs(reps=reps, manager_of={**managers, people["rep3"].pk: people["manager2"]})
            _demo_planning.seed_quotas(people)
            leaver = (
                (("敏", "周"), ("宏远建材", "海天食品", "约客户下周复核方案"))
                if chinese
                else (
                    ("Min", "Zhou"),
                    ("Hongyuan Building Materials", "Haitian Foods", "Review the proposal next week"),
                )
            )
            _demo_planning.seed_handover(people, pipeline, names=leaver[0], customers=leaver[1])
            self.seed_territories()
        if options["opportunities"] > 0:
            self.seed_bulk(options, pipeline)
        scored = refresh_quality_scores(timezone.now())  # so the home page and the review show them at once
        self.stdout.write(self.style.SUCCESS(f"Demo ready ({created} new opportunities, {logs} daily logs)."))
        self.stdout.write(f"Data-quality scores computed for {scored['reps']} reps.")
        self.stdout.write(f"Sign in at http://127.0.0.1:8000 with password {options['password']!r} as:")
        for username, _english, _chinese, role, _team, _tz in PEOPLE:
            self.stdout.write(f"  {username:<9} {role.label}")

    def seed_bulk(self, options: dict, pipeline: Pipeline) -> None:
        if options["reps"] < 1 or options["teams"] < 1:
            raise CommandError("--reps and --teams must be at least 1.")
        owners = _bulk.bulk_people(teams=options["teams"], reps=options["reps"], password=options["password"])
        missing = options["opportunities"] - Opportunity.objects.filter(name__startswith="Bench deal").count()
        if missing <= 0:
            self.stdout.write("Benchmark opportunities already there.")
            return
        self.stdout.write(f"Adding {missing} benchmark opportunities for {len(owners)} reps…")
        started = time.monotonic()

        def progress(done: int) -> None:
            if done % 100_000 == 0 or done == missing:
                self.stdout.write(f"  {done:>9,} ({time.monotonic() - started:.0f} s)")

        _bulk.bulk_deals(owners=owners, pipeline=pipeline, count=missing, progress=progress)

    def seed_people(self, password: str, *, language: str, chinese: bool) -> dict[str, User]:
        teams = [Team.objects.get_or_create(name=name)[0] for name in (_("East China"), _("International"))]
        territories = [
            Territory.objects.get_or_create(name=name, defaults={"team": team})[0]
            for name, team in ((_("Yangtze River Delta"), teams[0]), (_("Overseas"), teams[1]))
        ]
        people = {}
        for username, english, chinese_name, role, team_index, tz in PEOPLE:
            user, _created = User.objects.get_or_create(username=username)
            user.first_name, user.last_name = chinese_name if chinese else english
            user.email, user.language = f"{username}@example.com", language
            user.team = teams[team_index] if team_index is not None else None
            user.territory = territories[team_index] if team_index is not None else None
            user.time_zone, user.is_active = tz, True
            user.set_password(password)
            user.save()
            people[username] = user_set_role(user=user, role=role)
        for team, manager in zip(teams, (people["manager"], people["manager2"]), strict=True):
            team.manager = manager
            team.save(update_fields=["manager"])
        return people

    def seed_territories(self) -> None:
        """Each team's customers and people in the team's territory (seed_people places the logins; this places
        the rep who left too); a customer or person already placed is left where they are."""
        for territory in Territory.objects.filter(team__isnull=False):
            Account.objects.filter(owner__team=territory.team, territory__isnull=True).update(territory=territory)
            User.objects.filter(team=territory.team, territory__isnull=True).update(territory=territory)

    def name_activity_kinds_in_chinese(self) -> None:
        """The built-in kinds are stored in English and shown translated; a Chinese organisation's are stored in
        Chinese, as its admin would type them (the kinds page and its edit form then show no English)."""
        for kind in ActivityKind.objects.all():
            translated = gettext(kind.name)
            if translated != kind.name and not ActivityKind.objects.filter(name=translated).exists():
                kind.name = translated
                kind.save(update_fields=["name"])

    def seed_pipeline(self) -> Pipeline:
        pipeline = Pipeline.objects.filter(is_default=True).first()
        if pipeline is None:
            pipeline = Pipeline.objects.create(name=_("Project sales"), is_default=True)
        if not pipeline.stages.exists():
            for order, definition in enumerate(stage_definitions(), start=1):
                Stage.objects.create(pipeline=pipeline, order=order, **definition)
        for name in (_("Trade show"), _("Website"), _("Referral"), _("Cold call"), _("Partner")):
            Source.objects.get_or_create(name=name)
        for name in (_("Price too high"), _("Chose a competitor"), _("Budget cut"), _("No decision made")):
            LostReason.objects.get_or_create(name=name)
        return pipeline

    def seed_marketing(self, admin: User) -> None:
        """Three campaigns, each in a source; every other demo deal of that source came from its campaign; and what
        the campaigns and their sources cost this month and the last two (the marketing page's cost per won deal)."""
        today = timezone.localdate()
        months = [today.replace(day=1)]
        for _step in range(2):
            months.append((months[-1] - timedelta(days=1)).replace(day=1))
        plans = ((_("Spring trade fair"), _("Trade show"), 60_000), (_("Website relaunch"), _("Website"), 25_000),
                 (_("Partner webinars"), _("Partner"), 12_000))  # fmt: skip
        for name, source_name, monthly in plans:
            source = Source.objects.get(name=source_name)
            campaign, _created = Campaign.objects.get_or_create(name=name, defaults={"source": source})
            deals = Opportunity.objects.filter(source=source, campaign__isnull=True).order_by("pk")
            Opportunity.objects.filter(pk__in=list(deals.values_list("pk", flat=True))[::2]).update(campaign=campaign)
            for month in months:
                end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
                for subject, amount in (({"campaign": campaign}, monthly), ({"source": source}, monthly // 2)):
                    MarketingCost.objects.get_or_create(
                        **subject, period_start=month, period_end=end,
                        defaults={"amount": Decimal(amount), "updated_by": admin},
                    )  # fmt: skip

    def seed_deals(self, people: dict[str, User], pipeline: Pipeline, chinese: bool) -> int:
        reps = [people["rep"], people["rep2"], people["rep3"], people["manager"]]
        if Opportunity.objects.filter(owner__in=reps).exists():
            return 0
        rng = random.Random(2026)  # the same demo every time
        stages = list(pipeline.stages.order_by("order"))
        open_stages = [stage for stage in stages if stage.kind == StageKind.OPEN]
        sources = list(Source.objects.all())
        now = timezone.now()
        created = 0
        for index, (english, chinese_company) in enumerate(COMPANIES):
            name, industry, city = chinese_company if chinese else english
            owner = reps[index % len(reps)]
            account = Account.objects.create(
                name=name,
                industry=industry,
                city=city,
                owner=owner,
                created_at=now - timedelta(days=60),
            )
            contact_en, contact_zh = CONTACTS[index % len(CONTACTS)]
            contact = Contact.objects.create(
                account=account, name=contact_zh if chinese else contact_en, title=_("Purchasing manager")
            )
            for project_en, project_zh in rng.sample(PROJECTS, 2):
                target = rng.choice(open_stages * 3 + stages[-2:])  # mostly open, some won or lost
                self.create_deal(
                    account=account,
                    contact=contact,
                    owner=owner,
                    pipeline=pipeline,
                    stages=stages,
                    target=target,
                    name=f"{account.name} · {project_zh if chinese else project_en}",
                    source=rng.choice(sources),
                    rng=rng,
                    now=now,
                )
                created += 1
        return created

    def create_deal(self, *, account, contact, owner, pipeline, stages, target, name, source, rng, now) -> None:
        """Creates a deal that walked the open stages up to `target` over the last few weeks."""
        reasons = list(LostReason.objects.all())
        path = [stage for stage in stages if stage.kind == StageKind.OPEN and stage.order <= target.order]
        if target.kind != StageKind.OPEN:
            path = path[: rng.randint(2, len(path))] + [target]
        moments = sorted(now - timedelta(days=rng.uniform(1, 42)) for _ in path)
        deal = Opportunity.objects.create(
            name=name,
            account=account,
            contact=contact,
            owner=owner,
            pipeline=pipeline,
            stage=target,
            status=target.kind,
            source=source,
            amount=Decimal(rng.randrange(50, 3000) * 1000),
            expected_close_date=(now + timedelta(days=rng.randint(7, 120))).date(),
            next_step=_("Follow-up call") if target.kind == StageKind.OPEN else "",
            stage_entered_at=moments[-1],
            last_activity_at=moments[-1],
            closed_at=moments[-1] if target.kind != StageKind.OPEN else None,
            lost_reason=rng.choice(reasons) if target.kind == StageKind.LOST else None,
            created_at=moments[0],
        )
        previous = None
        for stage, moment in zip(path, moments, strict=True):
            StageChange.objects.create(opportunity=deal, from_stage=previous, to_stage=stage, by=owner, at=moment)
            previous = stage
