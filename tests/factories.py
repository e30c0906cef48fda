"""Factories that read as a specification: each builds a valid record with the fewest decisions made."""

from decimal import Decimal

import factory
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from funnel.insights import rollup
from funnel.models import Account, Campaign, Contact, Opportunity, Pipeline, Source, Stage, StageChange, StageKind
from reps.models import Role, Team, User

PASSWORD = "correct horse battery staple"


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    role = Role.REP
    time_zone = "Asia/Shanghai"
    language = "en"
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def admin_rights(user, create, extracted, **kwargs):
        user.is_staff = user.is_superuser = user.role == Role.ADMIN
        if create:
            user.save()


class PipelineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pipeline

    name = factory.Sequence(lambda n: f"Pipeline {n}")
    is_default = False


class StageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stage

    pipeline = factory.SubFactory(PipelineFactory)
    order = factory.Sequence(lambda n: n + 1)
    name = factory.Sequence(lambda n: f"Stage {n}")
    probability = 20
    kind = StageKind.OPEN


def pipeline_with_stages(name: str = "Project sales") -> Pipeline:
    """A default pipeline: three open stages (10, 40, 80 %), then won and lost."""
    pipeline = PipelineFactory(name=name, is_default=True)
    for order, (stage_name, probability, kind) in enumerate(
        [
            ("Qualified", 10, StageKind.OPEN),
            ("Proposal", 40, StageKind.OPEN),
            ("Negotiation", 80, StageKind.OPEN),
            ("Won", 100, StageKind.WON),
            ("Lost", 0, StageKind.LOST),
        ],
        start=1,
    ):
        StageFactory(pipeline=pipeline, order=order, name=stage_name, probability=probability, kind=kind)
    return pipeline


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source
        django_get_or_create = ["name"]

    name = "Website"


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Campaign {n}")


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Customer {n}")
    owner = factory.SubFactory(UserFactory)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    name = factory.Faker("name")


class OpportunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Opportunity

    name = factory.Sequence(lambda n: f"Deal {n}")
    owner = factory.SubFactory(UserFactory)
    account = factory.SubFactory(AccountFactory, owner=factory.SelfAttribute("..owner"))
    stage = factory.LazyFunction(lambda: Stage.objects.filter(kind=StageKind.OPEN).order_by("pipeline", "order")[0])
    pipeline = factory.SelfAttribute("stage.pipeline")
    status = factory.SelfAttribute("stage.kind")
    amount = Decimal("100000.00")
    stage_entered_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:  # as the services do: the dashboard's rollup folds the owner in before its next read
            rollup.mark_deals_dirty([(instance.owner_id, instance.pk)])


class StageChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StageChange

    opportunity = factory.SubFactory(OpportunityFactory)
    to_stage = factory.SelfAttribute("opportunity.stage")

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            rollup.mark_deals_dirty([(instance.opportunity.owner_id, instance.opportunity_id)])


def give_second_factor(client, user) -> None:
    """Marks the client's session as having given the second factor of an authenticator app, as the code page
    does (reps.second_factor): what an admin's session needs before admin pages."""
    device, _created = TOTPDevice.objects.get_or_create(user=user, defaults={"name": "Test app", "confirmed": True})
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
