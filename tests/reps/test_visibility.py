"""The one visibility rule (owner_scope_q) as every visible_to applies it, tested both ways."""

import pytest

from funnel.models import Account, Contact, Opportunity, StageChange
from reps.models import Team, User
from reps.services import user_deactivate, user_set_role
from tests.factories import ContactFactory, OpportunityFactory, StageChangeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def deals(cast, pipeline):
    """One opportunity (with a contact and a stage change) per user of the cast."""
    made = {}
    for name, user in cast.items():
        deal = OpportunityFactory(owner=user, name=f"{name}'s deal")
        ContactFactory(account=deal.account)
        StageChangeFactory(opportunity=deal)
        made[name] = deal
    return made


def names(queryset) -> set[str]:
    return {str(obj) for obj in queryset}


def test_rep_sees_only_own_opportunity(cast, deals):
    assert names(Opportunity.objects.visible_to(cast["rep"])) == {"rep's deal"}


def test_rep_cannot_see_teammates_opportunity(cast, deals):
    assert not Opportunity.objects.visible_to(cast["rep"]).filter(pk=deals["teammate"].pk).exists()


def test_manager_sees_own_and_team_members_opportunities(cast, deals):
    assert names(Opportunity.objects.visible_to(cast["manager"])) == {"rep's deal", "teammate's deal", "manager's deal"}


def test_manager_cannot_see_other_teams_opportunities(cast, deals):
    visible = Opportunity.objects.visible_to(cast["manager"])
    assert not visible.filter(owner__in=[cast["other_rep"], cast["other_manager"]]).exists()


def test_admin_sees_every_opportunity(cast, deals):
    assert Opportunity.objects.visible_to(cast["admin"]).count() == len(deals)


def test_anonymous_sees_nothing(deals):
    from django.contrib.auth.models import AnonymousUser

    assert not Opportunity.objects.visible_to(AnonymousUser()).exists()


def test_deactivated_manager_sees_nothing(cast, deals):
    user_deactivate(user=cast["manager"])
    assert not Opportunity.objects.visible_to(cast["manager"]).exists()


def test_demoted_manager_sees_only_own_records_at_once(cast, deals):
    user_set_role(user=cast["manager"], role="rep")
    assert names(Opportunity.objects.visible_to(cast["manager"])) == {"manager's deal"}


@pytest.mark.parametrize("model", [Account, Contact, StageChange])
def test_related_records_follow_the_same_rule(cast, deals, model):
    own = {deals["rep"].account.pk} if model is Account else None
    visible = model.objects.visible_to(cast["rep"])
    if own is not None:
        assert set(visible.values_list("pk", flat=True)) == own
    assert visible.count() == 1
    assert model.objects.visible_to(cast["manager"]).count() == 3
    assert model.objects.visible_to(cast["admin"]).count() == len(deals)


def test_users_visible_to_manager_are_self_and_own_team(cast):
    assert set(User.objects.visible_to(cast["manager"])) == {cast["manager"], cast["rep"], cast["teammate"]}


def test_users_visible_to_rep_is_only_themself(cast):
    assert list(User.objects.visible_to(cast["rep"])) == [cast["rep"]]


def test_teams_visible_to_each_role(cast, team1, team2):
    """Team.objects.visible_to: an admin every team, a manager their own and the ones they manage, a rep their
    own; an empty team is an admin's only; a deactivated user sees none."""
    empty = Team.objects.create(name="T3")
    expected = {
        "rep": {team1},
        "teammate": {team1},
        "manager": {team1},
        "other_rep": {team2},
        "other_manager": {team2},
        "admin": {team1, team2, empty},
    }
    for name, teams in expected.items():
        assert set(Team.objects.visible_to(cast[name])) == teams, name
    empty.manager = cast["manager"]
    empty.save()
    assert set(Team.objects.visible_to(cast["manager"])) == {team1, empty}
    assert set(Team.objects.visible_to(cast["rep"])) == {team1}
    user_deactivate(user=cast["manager"], by=cast["admin"])
    cast["manager"].refresh_from_db()
    assert not Team.objects.visible_to(cast["manager"]).exists()
