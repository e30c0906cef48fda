"""The sign-in backend loads the signed-in user with their team, and still refuses deactivated users."""

from reps.backends import ModelBackendWithTeam


def test_the_users_team_comes_with_the_user(rep, django_assert_num_queries):
    with django_assert_num_queries(1):
        user = ModelBackendWithTeam().get_user(rep.pk)
        assert user.team.name == "T1"


def test_a_deactivated_or_unknown_user_is_not_signed_in(rep):
    rep.is_active = False
    rep.save()
    assert ModelBackendWithTeam().get_user(rep.pk) is None
    assert ModelBackendWithTeam().get_user(999_999) is None
