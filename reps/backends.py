"""The sign-in backend: Django's, with one reading of a typed username, and loading the signed-in user with
their team in the same query."""

import unicodedata

from django.contrib.auth.backends import ModelBackend

from config.parsing import has_nul

from .models import User


def normalise_username(typed) -> str:
    """A username as typed, read the one way the sign-in form, its throttle and the lookup all read it:
    compatibility characters folded (a full-width "ｒｅｐ3" is "rep3"), surrounding white space dropped.
    The lookup then ignores case."""
    return unicodedata.normalize("NFKC", str(typed or "")).strip()


def find_login_user(typed) -> User | None:
    """The account a typed username signs in to: the exact name, else the one name equal but for case;
    None when there is none, or several differing only by case and none exactly."""
    name = normalise_username(typed)
    if not name or len(name) > User._meta.get_field("username").max_length or has_nul(name):
        return None  # NUL: a multipart sign-in is not read by config.middleware, and PostgreSQL refuses it
    candidates = list(User._default_manager.select_related("team").filter(username__iexact=name)[:10])
    exact = [user for user in candidates if user.username == name]
    if exact:
        return exact[0]
    return candidates[0] if len(candidates) == 1 else None


class ModelBackendWithTeam(ModelBackend):
    """Every page names the user's team in the user menu: one query for the user and the team, not two."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        user = find_login_user(username)
        if user is None:
            User().set_password(password)  # as Django does: an unknown name costs what a wrong password does
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id):
        try:
            user = User._default_manager.select_related("team").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
