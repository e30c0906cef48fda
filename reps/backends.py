"""The sign-in backend: Django's, loading the signed-in user with their team in the same query."""

from django.contrib.auth.backends import ModelBackend

from .models import User


class ModelBackendWithTeam(ModelBackend):
    """Every page names the user's team in the user menu: one query for the user and the team, not two."""

    def get_user(self, user_id):
        try:
            user = User._default_manager.select_related("team").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
