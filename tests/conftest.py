"""The named cast of QUALITY.md: team T1 (manager M1; reps R1, R2), team T2 (manager M2; rep R3), admin A."""

import pytest
from django.core.cache import cache
from django.test import Client

from reps.models import Role

from .factories import PASSWORD, TeamFactory, UserFactory, give_second_factor, pipeline_with_stages


@pytest.fixture(autouse=True)
def _fast_and_quiet(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.LANGUAGE_CODE = "en"
    settings.JOBS_INLINE = True
    cache.clear()  # throttles and "asked already" marks must not leak from one test into the next


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def team1(db):
    return TeamFactory(name="T1")


@pytest.fixture
def team2(db):
    return TeamFactory(name="T2")


@pytest.fixture
def manager(team1):
    """M1, who manages T1."""
    user = UserFactory(username="m1", role=Role.MANAGER, team=team1)
    team1.manager = user
    team1.save()
    return user


@pytest.fixture
def rep(team1, manager):
    """R1, the rep most tests act as."""
    return UserFactory(username="r1", role=Role.REP, team=team1)


@pytest.fixture
def teammate(team1, manager):
    """R2, in R1's team."""
    return UserFactory(username="r2", role=Role.REP, team=team1)


@pytest.fixture
def other_manager(team2):
    """M2, who manages T2."""
    user = UserFactory(username="m2", role=Role.MANAGER, team=team2)
    team2.manager = user
    team2.save()
    return user


@pytest.fixture
def other_rep(team2, other_manager):
    """R3, in the other team."""
    return UserFactory(username="r3", role=Role.REP, team=team2)


@pytest.fixture
def admin_user(db):
    """A, who sees everything."""
    return UserFactory(username="a", role=Role.ADMIN)


@pytest.fixture
def cast(rep, teammate, manager, other_rep, other_manager, admin_user):
    return {
        "rep": rep,
        "teammate": teammate,
        "manager": manager,
        "other_rep": other_rep,
        "other_manager": other_manager,
        "admin": admin_user,
    }


@pytest.fixture
def pipeline(db):
    return pipeline_with_stages()


@pytest.fixture
def stages(pipeline) -> dict:
    """The default pipeline's stages by name: Qualified, Proposal, Negotiation, Won, Lost."""
    return {stage.name: stage for stage in pipeline.stages.all()}


@pytest.fixture
def client_for():
    """A test client signed in as the given user; an admin's session has given its second factor (the code
    page's own tests sign in without it)."""

    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        if user.role == Role.ADMIN:
            give_second_factor(client, user)
        return client

    return make
