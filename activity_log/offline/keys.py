"""The signed-in user's key for their browser caches and outbox, read by the offline views and the
{% offline_user_key %} tag alike."""

from django.utils.crypto import salted_hmac

from reps.models import User


def user_key(user: User) -> str:
    """The id of the user's caches and outbox in the browser: stable for the user, not guessable from their id
    (an HMAC under the secret key), so one person's cache name says nothing about another's."""
    return salted_hmac("activity_log.offline.user", str(user.pk)).hexdigest()[:32]
